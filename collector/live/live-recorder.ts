import { createEnvelope, type Envelope, type PayloadInputOf } from '../../shared/protocol/index.js'
import type { LiveContext, LiveEvent } from './live-events.js'
import type { CollectorLiveSession, LiveEndReason } from './live-session.js'

/**
 * Records sessions as events (`live.started`, `live.ended`, stored like any other) and sends the device
 * its `live.stop`, without making the caller wait: each write is tracked so that stop() can await them,
 * and a failure is reported as `live_failed`, never thrown into a request.
 */
export class LiveRecorder {
  readonly #ctx: LiveContext
  readonly #now: () => number
  readonly #onEvent: (event: LiveEvent) => void
  readonly #pending = new Set<Promise<unknown>>()

  constructor(ctx: LiveContext, deps: { now: () => number; onEvent: (event: LiveEvent) => void }) {
    this.#ctx = ctx
    this.#now = deps.now
    this.#onEvent = deps.onEvent
  }

  /** A session started: `live.started`, with the session id as the event id. */
  started(session: CollectorLiveSession): void {
    const { deviceId, sessionId, startedBy } = session
    this.#track(this.#record(deviceId, 'live.started', { sessionId, startedBy }, sessionId))
    this.#onEvent({ kind: 'live_started', deviceId, sessionId, startedBy })
  }

  /** A session ended: tells the device unless it stopped by itself, and records `live.ended`. */
  ended(session: CollectorLiveSession, reason: LiveEndReason): void {
    const durationMs = Math.max(0, this.#now() - session.startedAtMs)
    if (reason !== 'device-stopped' && reason !== 'device-offline') {
      // The device also sees its peer close; the command makes the stop certain within a round trip.
      this.#track(
        this.#ctx.sendCommand(session.deviceId, {
          name: 'live.stop',
          args: { sessionId: session.sessionId, token: session.token },
        }),
      )
    }
    this.#track(
      this.#record(session.deviceId, 'live.ended', {
        sessionId: session.sessionId,
        startedBy: session.startedBy,
        viewers: [...session.viewerNames].slice(0, 64),
        durationMs,
        hasTalked: session.hasTalked,
        reason,
      }),
    )
    this.#onEvent({
      kind: 'live_ended',
      deviceId: session.deviceId,
      sessionId: session.sessionId,
      reason,
      durationMs,
    })
  }

  /** Resolves once every write and command started so far has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#pending])
  }

  #record<T extends 'live.started' | 'live.ended'>(
    deviceId: string,
    type: T,
    payload: PayloadInputOf<T>,
    id?: string,
  ): Promise<void> {
    const envelope = createEnvelope({
      deviceId,
      // Recorded by the collector, not the device: outside the device's sequence.
      seq: 0,
      type,
      payload,
      ...(id ? { id } : {}),
      capturedAtMs: this.#now(),
    })
    return this.#ctx.record(envelope as Envelope)
  }

  #track(promise: Promise<unknown>): void {
    const tracked = promise.catch((err: unknown) => this.#onEvent({ kind: 'live_failed', deviceId: '', err }))
    this.#pending.add(tracked)
    void tracked.finally(() => this.#pending.delete(tracked))
  }
}
