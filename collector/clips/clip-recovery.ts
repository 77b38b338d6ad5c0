import type { PayloadInputOf, PayloadOf } from '../../shared/protocol/index.js'
import { type ClipRecord, withClipState } from '../store/clip-record.js'
import type { EventStore } from '../store/event-store.js'
import { finalizeClipIfComplete } from './clip-finalizer.js'
import type { ClipStore, ClipVerdict } from './clip-store.js'

/**
 * What became of a request to send a clip again, the label of doorbell_collector_clip_resends_total:
 * `requested` (a failed check: chunks forgotten, the device asked), `repeated` (asked again when the device
 * came back), `recovered` (a clip sent again passed its check), `exhausted` (failed after the last allowed
 * request: stays corrupt), `unavailable` (the device no longer holds it: stays corrupt).
 */
export type ClipResendOutcome = 'requested' | 'repeated' | 'recovered' | 'exhausted' | 'unavailable'

/** One step of a clip's recovery, for the metric and main.ts's log. */
export interface ClipResendReport {
  readonly deviceId: string
  readonly clipId: string
  /** The `clip.resend` attempt concerned (0: the first upload). */
  readonly attempt: number
  readonly outcome: ClipResendOutcome
}

/** Collaborators of the recovery. */
export interface ClipRecoveryDeps {
  readonly store: EventStore
  readonly clips: ClipStore
  /** Publishes a command to a device (QoS 1; queued by its session while it is offline). */
  readonly sendCommand: (deviceId: string, payload: PayloadInputOf<'command'>) => Promise<unknown>
  /** `clip.resend` requests per clip; the next failed check leaves the clip corrupt. */
  readonly maxResends: number
  readonly onReport: (report: ClipResendReport) => void
}

/**
 * Keeps a recorded clip from being lost when every chunk passed its CRC but the reassembled file fails
 * the manifest's size or sha256 check: the collector forgets the clip's chunk receipts and its partial
 * file, marks the clip awaiting a resend (not playable), and asks the device with `clip.resend`. The ask
 * is repeated each time the device comes online, since a command queued for an offline session is lost
 * with a collector restart. A verified clip is announced with `clip.verified`, which lets the device
 * evict it. Work on one clip is serialized: two commits finishing the same clip reach one verdict.
 */
export class ClipRecovery {
  readonly #deps: ClipRecoveryDeps
  readonly #chains = new Map<string, Promise<unknown>>()

  constructor(deps: ClipRecoveryDeps) {
    this.#deps = deps
  }

  /** After a commit touched a clip: checks it once all its chunks are in, and acts on the verdict. */
  check(deviceId: string, clipId: string): Promise<ClipVerdict | undefined> {
    return this.#serial(clipId, async () => {
      const { store, clips } = this.#deps
      const verdict = await finalizeClipIfComplete(store, clips, deviceId, clipId)
      const clip = verdict ? await store.getClip(clipId) : undefined
      if (!clip) return verdict
      if (verdict === 'corrupt') await this.#onCorrupt(clip)
      else await this.#onComplete(clip)
      return verdict
    })
  }

  /** The device is online again: asks once more for every clip of it still awaiting a resend. */
  async deviceOnline(deviceId: string): Promise<void> {
    for (const { clipId } of await this.#deps.store.listClipsAwaitingResend(deviceId)) {
      await this.#serial(clipId, async () => {
        const clip = await this.#deps.store.getClip(clipId)
        if (clip?.state !== 'awaiting-resend') return
        const attempt = Math.max(1, clip.resendCount)
        await this.#ask(clip, attempt)
        this.#report(clip, attempt, 'repeated')
      })
    }
  }

  /** The device answered `clip.unavailable`: it no longer holds the clip, so it stays corrupt. */
  unavailable(deviceId: string, answer: PayloadOf<'clip.unavailable'>): Promise<void> {
    return this.#serial(answer.clipId, async () => {
      const clip = await this.#deps.store.getClip(answer.clipId)
      if (clip?.state !== 'awaiting-resend' || clip.deviceId !== deviceId) return
      await this.#deps.store.saveClip(
        withClipState(clip, { state: 'corrupt', corruptReason: 'gone-from-device' }),
      )
      this.#report(clip, answer.attempt, 'unavailable')
    })
  }

  async #onComplete(clip: ClipRecord): Promise<void> {
    const attempt = clip.resendCount
    if (attempt > 0) this.#report(clip, attempt, 'recovered')
    await this.#deps.sendCommand(clip.deviceId, { name: 'clip.verified', args: { clipId: clip.clipId } })
  }

  async #onCorrupt(clip: ClipRecord): Promise<void> {
    const done = clip.resendCount
    if (done >= this.#deps.maxResends) {
      await this.#deps.store.saveClip(
        withClipState(clip, { state: 'corrupt', corruptReason: 'check-failed' }),
      )
      this.#report(clip, done, 'exhausted')
      return
    }
    const attempt = done + 1
    // The bad partial first: a chunk arriving in between is still deduplicated by its receipt, not
    // written into a file that is about to go. A corrupt clip has no final file (only a good one is renamed).
    await this.#deps.clips.deleteClip(clip.deviceId, clip.clipId)
    const waiting = withClipState(clip, { state: 'awaiting-resend', resendCount: attempt })
    await this.#deps.store.forgetClipChunks(waiting)
    this.#report(clip, attempt, 'requested')
    await this.#ask(waiting, attempt)
  }

  #ask(clip: ClipRecord, attempt: number): Promise<unknown> {
    return this.#deps.sendCommand(clip.deviceId, {
      name: 'clip.resend',
      args: { clipId: clip.clipId, attempt },
    })
  }

  #report(clip: ClipRecord, attempt: number, outcome: ClipResendOutcome): void {
    this.#deps.onReport({ deviceId: clip.deviceId, clipId: clip.clipId, attempt, outcome })
  }

  /** Runs task after every earlier task of the same clip has settled. */
  #serial<T>(clipId: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#chains.get(clipId) ?? Promise.resolve()
    const result = previous.then(task)
    const settled = result.catch(() => undefined)
    this.#chains.set(clipId, settled)
    void settled.then(() => {
      if (this.#chains.get(clipId) === settled) this.#chains.delete(clipId)
    })
    return result
  }
}
