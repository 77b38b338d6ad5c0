/**
 * The speaker port: plays what the homeowner says at the door (two-way talk). Audio arrives as signed
 * 16-bit little-endian mono PCM at `sampleRateHz`, the counterpart of the microphone port. Adapters:
 * AplaySpeaker (ALSA through aplay) and SimulatedSpeaker (a WAV file tests can check).
 */
export interface Speaker {
  readonly sampleRateHz: number
  /** Opens the output; PCM given to play() before start() is dropped. */
  start(): void
  /** Queues PCM for playback; never blocks, never throws (a failure goes to onError of the adapter). */
  play(pcm: Buffer): void
  /** Closes the output; resolves once it is released. */
  stop(): Promise<void>
}
