import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Speaker } from './speaker.js'

const wavHeaderBytes = 44

/** A canonical PCM WAV header (RIFF, fmt, data) for mono 16-bit audio of dataBytes bytes. */
export function wavHeader(sampleRateHz: number, dataBytes: number): Buffer {
  const header = Buffer.alloc(wavHeaderBytes)
  header.write('RIFF', 0, 'ascii')
  header.writeUInt32LE(36 + dataBytes, 4)
  header.write('WAVE', 8, 'ascii')
  header.write('fmt ', 12, 'ascii')
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20) // PCM
  header.writeUInt16LE(1, 22) // mono
  header.writeUInt32LE(sampleRateHz, 24)
  header.writeUInt32LE(sampleRateHz * 2, 28)
  header.writeUInt16LE(2, 32)
  header.writeUInt16LE(16, 34)
  header.write('data', 36, 'ascii')
  header.writeUInt32LE(dataBytes, 40)
  return header
}

/**
 * A speaker without hardware: what it is given to play goes into a WAV file, whose header is kept
 * correct after every write, so a test (sox, ffprobe) can read it while the session still runs. Each
 * start() begins the file afresh. `playedBytes` and `firstPlayedAtMs` are for tests and the benchmark.
 */
export class SimulatedSpeaker implements Speaker {
  readonly sampleRateHz: number
  readonly file: string
  #fd: number | undefined
  #dataBytes = 0
  #firstPlayedAtMs: number | undefined

  constructor(deps: { sampleRateHz: number; file: string }) {
    this.sampleRateHz = deps.sampleRateHz
    this.file = deps.file
  }

  /** Bytes of PCM written since start(). */
  get playedBytes(): number {
    return this.#dataBytes
  }

  /** When the first PCM of this start() arrived (ms since the epoch). */
  get firstPlayedAtMs(): number | undefined {
    return this.#firstPlayedAtMs
  }

  start(): void {
    if (this.#fd !== undefined) return
    mkdirSync(dirname(this.file), { recursive: true })
    this.#fd = openSync(this.file, 'w')
    this.#dataBytes = 0
    this.#firstPlayedAtMs = undefined
    writeSync(this.#fd, wavHeader(this.sampleRateHz, 0), 0, wavHeaderBytes, 0)
  }

  play(pcm: Buffer): void {
    if (this.#fd === undefined || pcm.length === 0) return
    this.#firstPlayedAtMs ??= Date.now()
    writeSync(this.#fd, pcm, 0, pcm.length, wavHeaderBytes + this.#dataBytes)
    this.#dataBytes += pcm.length
    writeSync(this.#fd, wavHeader(this.sampleRateHz, this.#dataBytes), 0, wavHeaderBytes, 0)
  }

  async stop(): Promise<void> {
    if (this.#fd === undefined) return
    closeSync(this.#fd)
    this.#fd = undefined
  }
}
