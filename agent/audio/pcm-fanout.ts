import type { PcmSink } from './microphone.js'

/**
 * One microphone, several listeners: the sound-level monitor always, a live session's encoder while
 * someone watches. A plain ALSA device opens once, so the audio is shared here instead of recording twice.
 * A failing listener is isolated from the others.
 */
export class PcmFanout implements PcmSink {
  readonly #sinks = new Set<PcmSink>()

  add(sink: PcmSink): void {
    this.#sinks.add(sink)
  }

  remove(sink: PcmSink): void {
    this.#sinks.delete(sink)
  }

  onPcm(pcm: Buffer): void {
    for (const sink of this.#sinks) {
      try {
        sink.onPcm(pcm)
      } catch (err) {
        sink.onError(err as Error)
      }
    }
  }

  onError(err: Error): void {
    for (const sink of this.#sinks) sink.onError(err)
  }
}
