import { execFileSync, spawn } from 'node:child_process'
import { createSocket } from 'node:dgram'

/** Whether ffmpeg and ffprobe are here. */
export const hasFfmpeg = (() => {
  try {
    execFileSync('ffprobe', ['-version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

/**
 * H.264 RTP from ffmpeg's x264, as the agent's camera tap sends it (in-band SPS/PPS, 1200-byte packets). */
export async function x264RtpPackets(size: string, frames: number): Promise<Buffer[]> {
  const socket = createSocket('udp4')
  socket.setMaxListeners(0)
  const packets: Buffer[] = []
  socket.on('message', (m) => packets.push(Buffer.from(m)))
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  socket.setRecvBufferSize(8 * 1024 * 1024)
  const { port } = socket.address()
  const ffmpeg = spawn(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc=size=${size}:rate=10`],
      ...['-frames:v', String(frames), '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency'],
      ...['-pix_fmt', 'yuv420p', '-g', '10', '-f', 'rtp', '-payload_type', '96'],
      `rtp://127.0.0.1:${port}?pkt_size=1200`,
    ],
    { stdio: 'ignore' },
  )
  await new Promise((resolve) => ffmpeg.once('exit', resolve))
  await new Promise((resolve) => setTimeout(resolve, 200))
  socket.close()
  return packets
}
