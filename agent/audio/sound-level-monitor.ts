import type { PayloadInputOf } from '../../shared/protocol/messages.js'
import type { PcmSink } from './microphone.js'
import { levelOfPcm16, type SoundLevel } from './sound-level.js'

/** A sound.level reading (medium class) and when its window ended. */
export interface SoundReading {
  readonly payload: PayloadInputOf<'sound.level'>
  readonly capturedAtMs: number
  /** `loud`: the window crossed the threshold (an event); `summary`: the loudest window of an interval. */
  readonly reason: 'loud' | 'summary'
}

/** Settings and outlets of the monitor. */
export interface SoundLevelMonitorDeps {
  readonly sampleRateHz: number
  readonly windowMs: number
  readonly loudDbfs: number
  /** Audio time after a loud reading during which further loud windows are not reported. */
  readonly loudCooldownMs: number
  /** Audio time between summary readings; 0 for none. */
  readonly reportIntervalMs: number
  readonly onReading: (reading: SoundReading) => void
  /** Microphone failures pass through here (already Errors). */
  readonly onError?: (err: Error) => void
  readonly nowMs?: () => number
}

/**
 * Cuts the microphone's PCM into fixed windows (counted in samples, so it needs no timer), computes RMS
 * and peak dBFS for each, raises a loud reading when a window reaches loudDbfs (then holds off for
 * loudCooldownMs), and reports the loudest window of every reportIntervalMs as a summary.
 */
export class SoundLevelMonitor implements PcmSink {
  readonly #deps: SoundLevelMonitorDeps
  readonly #windowBytes: number
  readonly #nowMs: () => number
  #pending: Buffer[] = []
  #pendingBytes = 0
  #audioMs = 0
  #cooldownUntilMs = Number.NEGATIVE_INFINITY
  #intervalStartMs = 0
  #loudest: SoundLevel | undefined
  #windowCount = 0

  constructor(deps: SoundLevelMonitorDeps) {
    this.#deps = deps
    this.#windowBytes = Math.max(2, Math.round((deps.sampleRateHz * deps.windowMs) / 1000) * 2)
    this.#nowMs = deps.nowMs ?? Date.now
  }

  /** Windows measured so far. */
  get windowsMeasured(): number {
    return this.#windowCount
  }

  onPcm(pcm: Buffer): void {
    this.#pending.push(pcm)
    this.#pendingBytes += pcm.length
    while (this.#pendingBytes >= this.#windowBytes) {
      const all = Buffer.concat(this.#pending)
      this.#measure(all.subarray(0, this.#windowBytes))
      const rest = all.subarray(this.#windowBytes)
      this.#pending = rest.length > 0 ? [rest] : []
      this.#pendingBytes = rest.length
    }
  }

  onError(err: Error): void {
    this.#deps.onError?.(err)
  }

  #measure(window: Buffer): void {
    const level = levelOfPcm16(window)
    this.#windowCount += 1
    this.#audioMs += this.#deps.windowMs
    const isLoud = level.dbfs >= this.#deps.loudDbfs
    if (isLoud && this.#audioMs >= this.#cooldownUntilMs) {
      this.#cooldownUntilMs = this.#audioMs + this.#deps.loudCooldownMs
      this.#emit(level, true, 'loud')
    }
    if (!this.#loudest || level.dbfs > this.#loudest.dbfs) this.#loudest = level
    if (
      this.#deps.reportIntervalMs > 0 &&
      this.#audioMs - this.#intervalStartMs >= this.#deps.reportIntervalMs
    ) {
      const loudest = this.#loudest
      this.#intervalStartMs = this.#audioMs
      this.#loudest = undefined
      this.#emit(loudest, loudest.dbfs >= this.#deps.loudDbfs, 'summary')
    }
  }

  #emit(level: SoundLevel, isLoud: boolean, reason: SoundReading['reason']): void {
    const round = (dbfs: number): number => Math.round(dbfs * 100) / 100
    this.#deps.onReading({
      payload: {
        dbfs: round(level.dbfs),
        peakDbfs: round(level.peakDbfs),
        windowMs: this.#deps.windowMs,
        isLoud,
      },
      capturedAtMs: this.#nowMs(),
      reason,
    })
  }
}
