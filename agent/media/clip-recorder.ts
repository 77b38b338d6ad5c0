import { renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DoorbellError } from '../../shared/errors.js'
import { newEventId } from '../../shared/protocol/ids.js'
import { probeMedia } from './probe-media.js'
import { ffmpegRunArgs, runProcess } from './run-process.js'
import type { FsSegmentRing, Segment } from './segment-ring.js'

/** What started a clip: the press or motion event it belongs to, and when it happened. */
export interface ClipTrigger {
  /** Wall-clock time of the press or motion, ms since the epoch. */
  readonly atMs: number
  /** Id of the event the clip enriches (clip.manifest relatesTo). */
  readonly relatesTo?: string
}

/** A finished clip: an MP4 (faststart) in the output folder. */
export interface RecordedClip {
  /** ULID of the clip, minted when it is assembled (so clips sort oldest first); also its file name. */
  readonly clipId: string
  readonly relatesTo?: string
  readonly path: string
  readonly bytes: number
  readonly startedAtMs: number
  readonly durationMs: number
  /** How much of the clip lies before the trigger. */
  readonly prerollMs: number
  readonly hasAudio: boolean
  readonly triggerAtMs: number
}

/** Collaborators of the recorder. */
export interface ClipRecorderDeps {
  readonly ring: FsSegmentRing
  /** Where finished clips are written (the clip store's folder). */
  readonly outputDir: string
  readonly prerollMs: number
  readonly postrollMs: number
  readonly segmentMs: number
  readonly ffmpegPath?: string
  /** Nice value of the ffmpeg runs (media.childNiceness); 0 or absent leaves them as the agent's. */
  readonly niceness?: number
  readonly ffprobePath?: string
  readonly nowMs?: () => number
}

interface PendingClip {
  readonly trigger: ClipTrigger
  readonly endMs: number
  readonly promise: Promise<RecordedClip>
}

/**
 * Turns a trigger into a clip: the ring segments from prerollMs before the trigger to postrollMs after
 * it are pinned as they close, then joined without re-encoding (concat demuxer, -c copy) into an MP4
 * with its index in front (faststart), so a player can start before the whole file has arrived.
 * A trigger that arrives while a clip is still collecting joins that clip instead of starting another.
 */
export class FfmpegClipRecorder {
  readonly #deps: ClipRecorderDeps
  readonly #nowMs: () => number
  #pending: PendingClip | undefined
  /** Ends the wait of the clip being collected (flush on shutdown). */
  #stopWaiting: (() => void) | undefined

  constructor(deps: ClipRecorderDeps) {
    this.#deps = deps
    this.#nowMs = deps.nowMs ?? Date.now
  }

  /** Records the clip around a trigger; resolves once it is assembled (about postrollMs later). */
  record(trigger: ClipTrigger): Promise<RecordedClip> {
    if (this.#pending && trigger.atMs <= this.#pending.endMs) return this.#pending.promise
    const endMs = trigger.atMs + this.#deps.postrollMs
    const promise = this.#collect(trigger, endMs).finally(() => {
      if (this.#pending?.promise === promise) this.#pending = undefined
    })
    this.#pending = { trigger, endMs, promise }
    return promise
  }

  /** Assembles the clip being collected from what the ring holds now (shutdown); resolves when it is done. */
  async flush(): Promise<void> {
    this.#stopWaiting?.()
    await this.#pending?.promise.catch(() => undefined)
  }

  async #collect(trigger: ClipTrigger, endMs: number): Promise<RecordedClip> {
    const { ring, segmentMs } = this.#deps
    const startMs = trigger.atMs - this.#deps.prerollMs
    const taken: Segment[] = []
    const take = (segment: Segment): boolean => {
      if (segment.endedAtMs <= startMs) return false
      ring.pin(segment)
      taken.push(segment)
      return segment.endedAtMs >= endMs
    }
    try {
      let isDone = false
      for (const segment of ring.segments()) {
        if (isDone) break
        isDone = take(segment)
      }
      if (!isDone) {
        // Bounded wait: a camera that stops producing must not hold a clip (or its pins) forever.
        const deadlineMs = endMs + Math.max(5000, 3 * segmentMs)
        await new Promise<void>((resolve) => {
          let timer: NodeJS.Timeout | undefined
          let unsubscribe = (): void => {}
          const finish = (): void => {
            clearTimeout(timer)
            unsubscribe()
            this.#stopWaiting = undefined
            resolve()
          }
          unsubscribe = ring.onSegment((segment) => {
            if (take(segment)) finish()
          })
          timer = setTimeout(finish, Math.max(0, deadlineMs - this.#nowMs()))
          this.#stopWaiting = finish
        })
      }
      if (taken.length === 0) {
        throw new DoorbellError('CLIP_FAILED', 'no segment was recorded around the trigger', {
          details: { atMs: trigger.atMs },
        })
      }
      return await this.#assemble(trigger, taken)
    } finally {
      for (const segment of taken) ring.unpin(segment)
    }
  }

  async #assemble(trigger: ClipTrigger, segments: readonly Segment[]): Promise<RecordedClip> {
    const first = segments[0] as Segment
    const clipId = newEventId(Math.round(first.startedAtMs))
    const listPath = join(this.#deps.ring.dir, `${clipId}.txt`)
    const partPath = join(this.#deps.outputDir, `${clipId}.part.mp4`)
    const path = join(this.#deps.outputDir, `${clipId}.mp4`)
    // The concat demuxer's list: one `file '...'` line per segment; quotes escaped as the format asks.
    writeFileSync(listPath, segments.map((s) => `file '${s.path.replaceAll("'", "'\\''")}'\n`).join(''))
    try {
      await runProcess(
        this.#deps.ffmpegPath ?? 'ffmpeg',
        [
          ...ffmpegRunArgs,
          '-f',
          'concat',
          '-safe',
          '0',
          '-i',
          listPath,
          '-c',
          'copy',
          '-movflags',
          '+faststart',
          '-f',
          'mp4',
          partPath,
        ],
        { timeoutMs: 60_000, niceness: this.#deps.niceness ?? 0 },
      )
      const probe = await probeMedia(partPath, this.#deps.ffprobePath)
      renameSync(partPath, path)
      const bytes = statSync(path).size
      return {
        clipId,
        ...(trigger.relatesTo ? { relatesTo: trigger.relatesTo } : {}),
        path,
        bytes,
        startedAtMs: Math.round(first.startedAtMs),
        durationMs: Math.max(1, probe.durationMs),
        prerollMs: Math.max(0, Math.round(trigger.atMs - first.startedAtMs)),
        hasAudio: probe.hasAudio,
        triggerAtMs: trigger.atMs,
      }
    } catch (err) {
      rmSync(partPath, { force: true })
      if (err instanceof DoorbellError) throw err
      throw new DoorbellError('CLIP_FAILED', (err as Error).message, { cause: err })
    } finally {
      rmSync(listPath, { force: true })
    }
  }
}
