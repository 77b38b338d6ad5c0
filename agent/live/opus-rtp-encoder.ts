import { createSocket, type Socket } from 'node:dgram'
import { DoorbellError } from '../../shared/errors.js'
import { LongRunningChild } from '../media/long-running-child.js'

/** Settings of the encoder. */
export interface OpusRtpEncoderDeps {
  /** Rate of the PCM written to it (the microphone's). */
  readonly inputSampleRateHz: number
  readonly bitrateKbps: number
  readonly payloadType: number
  readonly ffmpegPath?: string
  /** Every RTP packet ffmpeg produced, one Opus frame of 20 ms each. */
  readonly onPacket: (packet: Buffer) => void
  readonly onError?: (err: DoorbellError) => void
}

/**
 * The door's microphone as Opus RTP, for the duration of a live session: PCM (from the microphone port,
 * shared with the sound-level monitor) into ffmpeg's libopus, 20 ms frames (what browsers send and expect;
 * a mismatch gives silence, scrypted#2106), out as RTP to a loopback socket of ours.
 */
export class OpusRtpEncoder {
  readonly #deps: OpusRtpEncoderDeps
  #socket: Socket | undefined
  #child: LongRunningChild | undefined

  constructor(deps: OpusRtpEncoderDeps) {
    this.#deps = deps
  }

  async start(): Promise<void> {
    const socket = createSocket('udp4')
    socket.on('message', (packet) => this.#deps.onPacket(packet))
    socket.on('error', () => undefined)
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
    this.#socket = socket
    const d = this.#deps
    this.#child = new LongRunningChild(
      {
        command: d.ffmpegPath ?? 'ffmpeg',
        args: [
          '-hide_banner',
          '-loglevel',
          'error',
          '-nostdin',
          '-fflags',
          'nobuffer',
          '-f',
          's16le',
          '-ar',
          String(d.inputSampleRateHz),
          '-ac',
          '1',
          '-i',
          'pipe:0',
          '-c:a',
          'libopus',
          '-b:a',
          `${d.bitrateKbps}k`,
          '-frame_duration',
          '20',
          '-application',
          'voip',
          '-payload_type',
          String(d.payloadType),
          '-sdp_file',
          '/dev/null',
          '-f',
          'rtp',
          `rtp://127.0.0.1:${socket.address().port}?pkt_size=1200`,
        ],
      },
      {
        hasStdin: true,
        onExit: (detail) =>
          d.onError?.(new DoorbellError('MICROPHONE_FAILED', `live audio encoder: ${detail}`)),
      },
    )
  }

  /** PCM from the microphone. */
  write(pcm: Buffer): void {
    this.#child?.write(pcm)
  }

  async stop(): Promise<void> {
    await this.#child?.stop()
    this.#child = undefined
    this.#socket?.close()
    this.#socket = undefined
  }
}
