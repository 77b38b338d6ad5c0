import lpcm16 from 'node-record-lpcm16'
import { DoorbellError } from '../../shared/errors.js'
import type { Microphone, PcmSink } from './microphone.js'

/** The library's record function, injectable so its quirks can be reproduced in tests. */
export type RecordFunction = typeof lpcm16.record

/** Collaborators of the real microphone. */
export interface Lpcm16MicrophoneDeps {
  readonly sampleRateHz: number
  /** ALSA device (arecord -D), e.g. `plughw:1,0`; the system default when absent. */
  readonly device?: string | undefined
  /** Recorder backend of node-record-lpcm16; `arecord` on a Pi. */
  readonly recorder?: string
  readonly record?: RecordFunction
  /** Restart a recorder that failed after this delay (doubling per failure, at most 60 s); absent: no restart. */
  readonly restartDelayMs?: number
}

/** Turns whatever the library emitted (it emits strings) into an Error from the catalogue. */
export function toMicrophoneError(value: unknown): Error {
  if (value instanceof DoorbellError) return value
  if (value instanceof Error) return new DoorbellError('MICROPHONE_FAILED', value.message, { cause: value })
  return new DoorbellError('MICROPHONE_FAILED', String(value).split('\n')[0]?.trim() || 'unknown failure')
}

/**
 * The real microphone: node-record-lpcm16 running arecord (raw S16_LE mono). It wraps the library's
 * quirks: errors arrive as strings (made Errors here); its own stop() kills the recorder, which the
 * library then reports as "exited with error code null" (swallowed while stopping); a failed spawn
 * (arecord missing) is an 'error' on the child process it never listens to (caught here, else it would
 * crash the agent); and chunks may split a sample (the odd byte is carried over).
 */
export class Lpcm16Microphone implements Microphone {
  readonly sampleRateHz: number
  readonly #deps: Lpcm16MicrophoneDeps
  #recording: ReturnType<RecordFunction> | undefined
  #isStopping = false
  #exited: Promise<void> = Promise.resolve()
  #restartTimer: NodeJS.Timeout | undefined
  #failuresInARow = 0

  constructor(deps: Lpcm16MicrophoneDeps) {
    this.#deps = deps
    this.sampleRateHz = deps.sampleRateHz
  }

  start(sink: PcmSink): void {
    if (this.#recording) return
    this.#isStopping = false
    const record = this.#deps.record ?? lpcm16.record
    let recording: ReturnType<RecordFunction>
    try {
      recording = record({
        sampleRate: this.#deps.sampleRateHz,
        channels: 1,
        recorder: this.#deps.recorder ?? 'arecord',
        audioType: 'raw',
        ...(this.#deps.device ? { device: this.#deps.device } : {}),
      })
    } catch (err) {
      sink.onError(toMicrophoneError(err))
      return
    }
    this.#recording = recording
    let hasFailed = false
    const fail = (value: unknown): void => {
      if (this.#isStopping || hasFailed) return // the library reports our own kill as an error
      hasFailed = true
      sink.onError(toMicrophoneError(value))
      this.#scheduleRestart(sink)
    }
    let carry: Buffer | undefined
    const stream = recording.stream()
    stream.on('data', (chunk: Buffer | string) => {
      let pcm = typeof chunk === 'string' ? Buffer.from(chunk, 'binary') : chunk
      if (carry) pcm = Buffer.concat([carry, pcm])
      const whole = pcm.length - (pcm.length % 2)
      carry = whole < pcm.length ? pcm.subarray(whole) : undefined
      if (whole > 0) {
        this.#failuresInARow = 0
        sink.onPcm(pcm.subarray(0, whole))
      }
    })
    stream.on('error', fail)
    const child = recording.process
    child.on('error', fail)
    this.#exited = new Promise((resolve) => {
      child.once('close', (code) => {
        if (this.#recording === recording) this.#recording = undefined
        // A clean exit nobody asked for (the device went away) is still a failure to the agent.
        if (code === 0) fail(`${this.#deps.recorder ?? 'arecord'} ended by itself`)
        resolve()
      })
    })
  }

  #scheduleRestart(sink: PcmSink): void {
    const baseMs = this.#deps.restartDelayMs
    if (baseMs === undefined || this.#restartTimer) return
    const delayMs = Math.min(baseMs * 2 ** this.#failuresInARow, 60_000)
    this.#failuresInARow += 1
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined
      void this.#exited.then(() => {
        if (this.#isStopping) return
        this.#recording = undefined
        this.start(sink)
      })
    }, delayMs)
    this.#restartTimer.unref()
  }

  async stop(): Promise<void> {
    this.#isStopping = true
    if (this.#restartTimer) clearTimeout(this.#restartTimer)
    this.#restartTimer = undefined
    const recording = this.#recording
    if (!recording) return this.#exited
    this.#isStopping = true
    const child = recording.process
    if (child.exitCode === null && child.signalCode === null) {
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000)
      recording.stop()
      await this.#exited
      clearTimeout(timer)
    }
    this.#recording = undefined
  }
}
