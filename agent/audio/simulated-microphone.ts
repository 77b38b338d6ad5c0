import type { Microphone, PcmSink } from './microphone.js'
import { sinePcm16 } from './sound-level.js'

/** Settings of the simulated microphone. */
export interface SimulatedMicrophoneDeps {
  readonly sampleRateHz: number
  readonly toneHz: number
  /** RMS level of the tone in dBFS (-3.01 is a full-scale sine). */
  readonly levelDbfs: number
  /** Size of each delivered block. */
  readonly blockMs?: number
}

/**
 * A microphone without hardware: a sine generated in-process, delivered in real-time blocks. Its level
 * can be changed at run time (setLevelDbfs) to simulate a loud sound at the door.
 */
export class SimulatedMicrophone implements Microphone {
  readonly sampleRateHz: number
  readonly #deps: SimulatedMicrophoneDeps
  #levelDbfs: number
  #timer: NodeJS.Timeout | undefined
  #sampleIndex = 0

  constructor(deps: SimulatedMicrophoneDeps) {
    this.#deps = deps
    this.sampleRateHz = deps.sampleRateHz
    this.#levelDbfs = deps.levelDbfs
  }

  /** Changes the tone's RMS level from the next block on. */
  setLevelDbfs(levelDbfs: number): void {
    this.#levelDbfs = levelDbfs
  }

  /** One block of PCM at the current level; also what the timer delivers. */
  nextBlock(): Buffer {
    const blockMs = this.#deps.blockMs ?? 100
    // A sine's peak is sqrt(2) times its RMS.
    const amplitude = Math.min(1, 10 ** (this.#levelDbfs / 20) * Math.SQRT2)
    const pcm = sinePcm16({
      toneHz: this.#deps.toneHz,
      sampleRateHz: this.sampleRateHz,
      durationMs: blockMs,
      amplitude,
      startSample: this.#sampleIndex,
    })
    this.#sampleIndex += pcm.length / 2
    return pcm
  }

  start(sink: PcmSink): void {
    if (this.#timer) return
    this.#timer = setInterval(() => sink.onPcm(this.nextBlock()), this.#deps.blockMs ?? 100)
    this.#timer.unref()
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
  }
}
