/** Where a microphone delivers its audio: signed 16-bit little-endian mono PCM. */
export interface PcmSink {
  onPcm(pcm: Buffer): void
  /** A real failure (device gone, recorder crashed); always an Error, never a string. */
  onError(err: Error): void
}

/** The microphone port: one real adapter (arecord via node-record-lpcm16) and a simulated one. */
export interface Microphone {
  readonly sampleRateHz: number
  /** Starts delivering PCM to the sink. */
  start(sink: PcmSink): void
  /** Stops recording; resolves once the recorder has exited. Stopping is never reported as an error. */
  stop(): Promise<void>
}
