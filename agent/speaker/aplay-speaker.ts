import { DoorbellError } from '../../shared/errors.js'
import { LongRunningChild } from '../media/long-running-child.js'
import type { Speaker } from './speaker.js'

/** Settings of the ALSA speaker. */
export interface AplaySpeakerDeps {
  readonly sampleRateHz: number
  /** ALSA device (aplay -D). */
  readonly device: string
  readonly bufferMs: number
  readonly aplayPath?: string
  /** aplay failed (device busy or gone); playback resumes with the next start(). */
  readonly onError?: (err: DoorbellError) => void
}

/**
 * The real speaker: aplay reading raw S16_LE mono from its stdin, started for a live session and
 * stopped after it. aplay recovers from underruns by itself (talk is push-to-talk, so there are gaps).
 */
export class AplaySpeaker implements Speaker {
  readonly sampleRateHz: number
  readonly #deps: AplaySpeakerDeps
  #child: LongRunningChild | undefined

  constructor(deps: AplaySpeakerDeps) {
    this.#deps = deps
    this.sampleRateHz = deps.sampleRateHz
  }

  start(): void {
    if (this.#child?.isRunning) return
    this.#child = new LongRunningChild(
      {
        command: this.#deps.aplayPath ?? 'aplay',
        args: [
          '-q',
          '-D',
          this.#deps.device,
          '-t',
          'raw',
          '-f',
          'S16_LE',
          '-c',
          '1',
          '-r',
          String(this.sampleRateHz),
          `--buffer-time=${this.#deps.bufferMs * 1000}`,
          '-',
        ],
      },
      {
        hasStdin: true,
        onExit: (detail) => this.#deps.onError?.(new DoorbellError('SPEAKER_FAILED', detail)),
      },
    )
  }

  play(pcm: Buffer): void {
    this.#child?.write(pcm)
  }

  async stop(): Promise<void> {
    await this.#child?.stop()
    this.#child = undefined
  }
}
