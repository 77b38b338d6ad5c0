import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { DoorbellError } from '../../shared/errors.js'
import { writeFileAtomic } from '../../shared/files/atomic-file.js'
import { newEventId, ulidPattern } from '../../shared/protocol/ids.js'
import { clipManifestPayload, type PayloadInputOf, type PayloadOf } from '../../shared/protocol/messages.js'
import { type ChunkSpan, type ClipDescription, chunkSpan } from './clip-chunker.js'

/**
 * Where an upload stands: `announcing` (the manifest is not acknowledged yet, so no chunk goes),
 * `uploading` (chunks go until each is acknowledged), `failed` (the collector refused a chunk for good, or
 * it was rejected too often), `verified` (the collector checked the whole file, `clip.verified`: only now
 * is the clip safe to evict). A `clip.resend` takes any of them back to `uploading`.
 */
export type ClipUploadPhase = 'announcing' | 'uploading' | 'failed' | 'verified'

const fields = {
  clipId: z.string().regex(ulidPattern),
  bytes: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  chunkBytes: z.number().int().positive(),
  chunkCount: z.number().int().positive(),
  /** Envelope id of each chunk, fixed at creation so a resend after restart is deduplicated. */
  chunkIds: z.array(z.string().regex(ulidPattern)),
  /** Indexes of acknowledged chunks, ascending. */
  acked: z.array(z.number().int().nonnegative()),
  /** Rejections (retry: true) per chunk index. */
  rejects: z.record(z.string(), z.number().int().positive()),
  /** The clip.manifest payload, so it can be queued again after a restart if it was never acknowledged. */
  manifest: clipManifestPayload.optional(),
  /** The latest `clip.resend` attempt acted on (0: none); a repeated delivery of it is ignored. */
  resendAttempt: z.number().int().nonnegative().default(0),
}

/** The state file as written now. */
const stateSchema = z.strictObject({
  v: z.literal(2),
  phase: z.enum(['announcing', 'uploading', 'failed', 'verified']),
  ...fields,
})

/**
 * The state file as versions before the phase union wrote it (v1, three booleans). Agents upgraded with
 * clips still queued read it, converted (fromV1).
 */
const stateV1Schema = z.strictObject({
  v: z.literal(1),
  isManifestAcked: z.boolean(),
  isFailed: z.boolean(),
  isVerified: z.boolean().default(false),
  ...fields,
})

type StateFile = z.output<typeof stateSchema>

/**
 * A v1 state as a phase. What the collector verified wins (it holds the whole file), then a failure,
 * then whether the manifest was acknowledged, the order the upload queue looked at the booleans in.
 */
function fromV1(old: z.output<typeof stateV1Schema>): StateFile {
  const { v, isManifestAcked, isFailed, isVerified, ...rest } = old
  const phase = isVerified ? 'verified' : isFailed ? 'failed' : isManifestAcked ? 'uploading' : 'announcing'
  return { v: 2, phase, ...rest }
}

/** The next chunk to send: where it lies and the envelope id to send it under. */
export interface PlannedChunk extends ChunkSpan {
  readonly id: string
}

/** Rejections of one chunk after which the clip is given up. */
export const defaultMaxRejectsPerChunk = 5

/**
 * The lazy upload's plan for one clip, persisted per clip in a small JSON file next to it (written to a
 * temp file, then renamed, so a crash leaves the old or the new state, never half of one). After a
 * restart a new instance reads the file and resumes at the first chunk not yet acknowledged. No
 * network code: the uplink asks nextChunk(), sends, and reports markAcked / markRejected.
 */
export class ClipUploadState {
  readonly path: string
  readonly #state: StateFile
  readonly #ackedSet: Set<number>
  readonly #inFlight = new Set<number>()
  readonly #maxRejects: number
  #writing: Promise<void> = Promise.resolve()

  private constructor(path: string, state: StateFile, maxRejects: number) {
    this.path = path
    this.#state = state
    this.#ackedSet = new Set(state.acked)
    this.#maxRejects = maxRejects
  }

  /** The state file's path for a clip file: `<clip>.upload.json`. */
  static pathFor(clipPath: string): string {
    return `${clipPath.replace(/\.mp4$/, '')}.upload.json`
  }

  /** Starts the plan of a new clip (nothing acknowledged) and persists it. */
  static async create(
    path: string,
    clipId: string,
    description: ClipDescription,
    options: { manifest?: PayloadInputOf<'clip.manifest'>; maxRejects?: number } = {},
  ): Promise<ClipUploadState> {
    const state: StateFile = {
      v: 2,
      phase: 'announcing',
      clipId,
      bytes: description.bytes,
      sha256: description.sha256,
      chunkBytes: description.chunkBytes,
      chunkCount: description.chunkCount,
      chunkIds: newChunkIds(description.chunkCount),
      acked: [],
      rejects: {},
      ...(options.manifest ? { manifest: clipManifestPayload.parse(options.manifest) } : {}),
      resendAttempt: 0,
    }
    const plan = new ClipUploadState(path, state, options.maxRejects ?? defaultMaxRejectsPerChunk)
    await plan.#persist()
    return plan
  }

  /** Reads a persisted plan; CLIP_STATE_INVALID when the file is unreadable or inconsistent. */
  static async open(path: string, maxRejects = defaultMaxRejectsPerChunk): Promise<ClipUploadState> {
    let parsed: StateFile
    try {
      const value = JSON.parse(await readFile(path, 'utf8')) as { v?: unknown }
      parsed = value.v === 1 ? fromV1(stateV1Schema.parse(value)) : stateSchema.parse(value)
    } catch (err) {
      throw new DoorbellError('CLIP_STATE_INVALID', path, { cause: err, details: { path } })
    }
    const isConsistent =
      parsed.chunkIds.length === parsed.chunkCount &&
      parsed.chunkCount === Math.ceil(parsed.bytes / parsed.chunkBytes) &&
      parsed.acked.every((i) => i < parsed.chunkCount)
    if (!isConsistent)
      throw new DoorbellError('CLIP_STATE_INVALID', `${path}: counts disagree`, { details: { path } })
    return new ClipUploadState(path, parsed, maxRejects)
  }

  get clipId(): string {
    return this.#state.clipId
  }

  get chunkCount(): number {
    return this.#state.chunkCount
  }

  get ackedCount(): number {
    return this.#ackedSet.size
  }

  /** Where the upload stands. */
  get phase(): ClipUploadPhase {
    return this.#state.phase
  }

  /** The collector stored the clip.manifest event (every phase after `announcing`). */
  get isManifestAcked(): boolean {
    return this.#state.phase !== 'announcing'
  }

  /** Every chunk and the manifest are acknowledged: the clip may be evicted locally. */
  get isComplete(): boolean {
    return this.isManifestAcked && this.#ackedSet.size === this.#state.chunkCount
  }

  get isFailed(): boolean {
    return this.#state.phase === 'failed'
  }

  /** The collector verified the whole file (size and sha256), not only every chunk. */
  get isVerified(): boolean {
    return this.#state.phase === 'verified'
  }

  /** The latest `clip.resend` attempt acted on; 0 when the collector never asked. */
  get resendAttempt(): number {
    return this.#state.resendAttempt
  }

  /** The description the plan was made for (to rebuild the manifest after a restart). */
  get description(): ClipDescription {
    const { bytes, sha256, chunkBytes, chunkCount } = this.#state
    return { bytes, sha256, chunkBytes, chunkCount }
  }

  /** The manifest payload recorded with the plan, if any. */
  get manifest(): PayloadOf<'clip.manifest'> | undefined {
    return this.#state.manifest
  }

  /** The envelope id chunk `index` is sent under. */
  chunkId(index: number): string {
    const id = this.#state.chunkIds[index]
    if (id === undefined) throw new RangeError(`no chunk ${index} in clip ${this.#state.clipId}`)
    return id
  }

  /** The chunk index an envelope id belongs to, or undefined (to route acks). */
  indexOfChunkId(id: string): number | undefined {
    const index = this.#state.chunkIds.indexOf(id)
    return index < 0 ? undefined : index
  }

  /** The chunk nextChunk() would return, without marking it in flight. */
  peekNextChunk(): { readonly index: number } | undefined {
    if (this.#state.phase === 'failed') return undefined
    for (let index = 0; index < this.#state.chunkCount; index += 1) {
      if (!this.#ackedSet.has(index) && !this.#inFlight.has(index)) return { index }
    }
    return undefined
  }

  /**
   * The lowest chunk neither acknowledged nor in flight, now marked in flight; undefined when none
   * is left to send (all acknowledged, all in flight, or the clip failed).
   */
  nextChunk(): PlannedChunk | undefined {
    if (this.#state.phase === 'failed') return undefined
    for (let index = 0; index < this.#state.chunkCount; index += 1) {
      if (this.#ackedSet.has(index) || this.#inFlight.has(index)) continue
      this.#inFlight.add(index)
      return { ...chunkSpan(this.#state, index), id: this.chunkId(index) }
    }
    return undefined
  }

  /** Chunks sent but not answered become sendable again (after a reconnect). */
  releaseInFlight(): void {
    this.#inFlight.clear()
  }

  /** The collector stored chunk `index`; persisted before the promise resolves. */
  async markAcked(index: number): Promise<void> {
    this.chunkId(index)
    this.#inFlight.delete(index)
    if (this.#ackedSet.has(index)) return
    this.#ackedSet.add(index)
    await this.#persist()
  }

  /** Chunk `index` may be sent again without counting a rejection (the collector was busy, not the chunk bad). */
  releaseChunk(index: number): void {
    this.#inFlight.delete(index)
  }

  /** The collector refused chunk `index`: with retry it is sent again (up to the limit), else the clip fails. */
  async markRejected(index: number, options: { retry?: boolean } = {}): Promise<void> {
    this.chunkId(index)
    this.#inFlight.delete(index)
    const key = String(index)
    const count = (this.#state.rejects[key] ?? 0) + 1
    this.#state.rejects[key] = count
    const isGivenUp = options.retry === false || count > this.#maxRejects
    // A verified clip stays verified: the collector holds the whole file whatever a late copy met.
    if (isGivenUp && this.#state.phase !== 'verified') this.#state.phase = 'failed'
    await this.#persist()
  }

  /**
   * The collector asked for the whole clip again (`clip.resend`, attempt `attempt`): every chunk becomes
   * unsent, under a new envelope id, so an ack of a copy sent before the request cannot count for the new
   * upload. The manifest stays acknowledged (the collector keeps it). Returns false, changing nothing,
   * for an attempt already acted on (a command delivered twice).
   */
  async restartForResend(attempt: number): Promise<boolean> {
    if (attempt <= this.#state.resendAttempt) return false
    this.#state.resendAttempt = attempt
    this.#state.chunkIds = newChunkIds(this.#state.chunkCount)
    this.#state.rejects = {}
    // Whether the manifest was acknowledged stays as it was: the collector keeps the manifest.
    if (this.#state.phase !== 'announcing') this.#state.phase = 'uploading'
    this.#ackedSet.clear()
    this.#inFlight.clear()
    await this.#persist()
    return true
  }

  /** The collector verified the whole clip (`clip.verified`). */
  async markVerified(): Promise<void> {
    if (this.#state.phase === 'verified') return
    this.#state.phase = 'verified'
    await this.#persist()
  }

  /** The collector stored the clip.manifest event. */
  async markManifestAcked(): Promise<void> {
    if (this.#state.phase !== 'announcing') return
    this.#state.phase = 'uploading'
    await this.#persist()
  }

  /** Writes the state atomically and durably (shared/files/atomic-file.ts). Writes are serialized. */
  #persist(): Promise<void> {
    const next = this.#writing.then(async () => {
      const snapshot: StateFile = { ...this.#state, acked: [...this.#ackedSet].sort((a, b) => a - b) }
      await writeFileAtomic(this.path, JSON.stringify(snapshot))
    })
    this.#writing = next.catch(() => undefined)
    return next
  }
}

/** One fresh envelope id per chunk. */
function newChunkIds(count: number): string[] {
  return Array.from({ length: count }, () => newEventId())
}
