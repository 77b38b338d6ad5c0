import { createSocket, type Socket } from 'node:dgram'
import { DoorbellError } from '../../shared/errors.js'
import { LongRunningChild } from '../media/long-running-child.js'
import type { Speaker } from '../speaker/speaker.js'

/** Settings of the decoder. */
export interface TalkDecoderDeps {
  readonly speaker: Speaker
  /** Payload type of Opus in the talk track (what the collector offered). */
  readonly payloadType: number
  readonly ffmpegPath?: string
  readonly onError?: (err: DoorbellError) => void
}

/** A free loopback UDP port: bound, read and released (ffmpeg binds it right after). */
async function freeUdpPort(): Promise<number> {
  const probe = createSocket('udp4')
  await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve))
  const { port } = probe.address()
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  return port
}

/**
 * The homeowner's voice, from the talk track's Opus RTP to the speaker: ffmpeg reads an SDP (on stdin)
 * describing a loopback RTP stream, decodes it without buffering (no reorder queue: about 20 ms here) and
 * writes PCM at the speaker's rate to stdout. It runs for the session, so push-to-talk starts at once;
 * an ffmpeg that exited (a long silence ends its input) is started again at the next packet.
 */
export class TalkDecoder {
  readonly #deps: TalkDecoderDeps
  readonly #sender: Socket = createSocket('udp4')
  #child: LongRunningChild | undefined
  #port: number | undefined
  #isStopped = false
  #packetCount = 0

  constructor(deps: TalkDecoderDeps) {
    this.#deps = deps
    this.#sender.on('error', () => undefined)
  }

  /** Talk packets received this session. */
  get packetCount(): number {
    return this.#packetCount
  }

  async start(): Promise<void> {
    this.#isStopped = false
    this.#deps.speaker.start()
    await this.#spawn()
  }

  /** One RTP packet of the talk track. */
  push(packet: Buffer): void {
    if (this.#isStopped) return
    this.#packetCount += 1
    if (!this.#child?.isRunning) {
      void this.#spawn()
      return
    }
    if (this.#port !== undefined) this.#sender.send(packet, this.#port, '127.0.0.1')
  }

  async stop(): Promise<void> {
    this.#isStopped = true
    await this.#child?.stop()
    this.#child = undefined
    this.#sender.close()
    await this.#deps.speaker.stop()
  }

  async #spawn(): Promise<void> {
    if (this.#child?.isRunning) return
    const port = await freeUdpPort()
    if (this.#isStopped) return
    this.#port = port
    const { payloadType, speaker } = this.#deps
    const sdp = [
      'v=0',
      'o=- 0 0 IN IP4 127.0.0.1',
      's=talk',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      `m=audio ${port} RTP/AVP ${payloadType}`,
      `a=rtpmap:${payloadType} opus/48000/2`,
      '',
    ].join('\r\n')
    const spawnedAtMs = Date.now()
    const child = new LongRunningChild(
      {
        command: this.#deps.ffmpegPath ?? 'ffmpeg',
        args: [
          '-hide_banner',
          '-loglevel',
          'error',
          '-protocol_whitelist',
          'pipe,udp,rtp',
          '-fflags',
          'nobuffer',
          '-flags',
          'low_delay',
          '-probesize',
          '32',
          '-analyzeduration',
          '0',
          '-reorder_queue_size',
          '0',
          '-f',
          'sdp',
          '-i',
          'pipe:0',
          '-f',
          's16le',
          '-ar',
          String(speaker.sampleRateHz),
          '-ac',
          '1',
          'pipe:1',
        ],
      },
      {
        hasStdin: true,
        hasStdout: true,
        onExit: (detail) => {
          // A long silence ends ffmpeg's UDP input after a while; the next packet starts it again. An exit
          // soon after the start is a failure (ffmpeg without libopus, a bad SDP): report it.
          if (!this.#isStopped && Date.now() - spawnedAtMs < 2000)
            this.#deps.onError?.(new DoorbellError('SPEAKER_FAILED', `talk decoder: ${detail}`))
        },
      },
    )
    child.child.stdout?.on('data', (pcm: Buffer) => speaker.play(pcm))
    child.child.stdin?.end(sdp)
    this.#child = child
  }
}
