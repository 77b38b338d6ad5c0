import { spawn } from 'node:child_process'
import { createSocket } from 'node:dgram'

/**
 * Opus RTP from ffmpeg's libopus, as the agent's live encoder sends it (20 ms frames, payload type 111):
 * `seconds` of a sine at `toneHz`.
 */
export async function opusRtpPackets(seconds: number, toneHz = 880): Promise<Buffer[]> {
  const socket = createSocket('udp4')
  const packets: Buffer[] = []
  socket.on('message', (m) => packets.push(Buffer.from(m)))
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  const { port } = socket.address()
  const ffmpeg = spawn(
    'ffmpeg',
    [
      ...[
        '-hide_banner',
        '-loglevel',
        'error',
        '-f',
        'lavfi',
        '-i',
        `sine=frequency=${toneHz}:sample_rate=48000`,
      ],
      ...['-t', String(seconds), '-c:a', 'libopus', '-b:a', '24k', '-frame_duration', '20'],
      ...['-application', 'lowdelay', '-f', 'rtp', '-payload_type', '111', `rtp://127.0.0.1:${port}`],
    ],
    { stdio: 'ignore' },
  )
  await new Promise((resolve) => ffmpeg.once('exit', resolve))
  await new Promise((resolve) => setTimeout(resolve, 200))
  socket.close()
  return packets
}
