import { createSocket, type Socket } from 'node:dgram'

/**
 * The loopback UDP port the camera pipeline also writes its encoded video to, as RTP (capture-command.ts,
 * the tee muxer). Open while the camera runs; packets are dropped unless a live session listens, so a
 * live view starts without restarting (or re-opening) the camera.
 */
export class RtpVideoTap {
  #socket: Socket | undefined
  #listener: ((packet: Buffer) => void) | undefined
  #packetCount = 0

  /** The bound port, once open. */
  get port(): number | undefined {
    return this.#socket?.address().port
  }

  /** Packets received since open (listened to or not). */
  get packetCount(): number {
    return this.#packetCount
  }

  /** Binds 127.0.0.1 on a free port. */
  async open(): Promise<void> {
    if (this.#socket) return
    const socket = createSocket('udp4')
    socket.on('message', (packet) => {
      this.#packetCount += 1
      this.#listener?.(packet)
    })
    // A loopback socket has no failure worth stopping the agent for; a closed tap only ends live views.
    socket.on('error', () => undefined)
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
    this.#socket = socket
  }

  /** Hands every packet to listener from now on; undefined stops. One listener at a time. */
  listen(listener: ((packet: Buffer) => void) | undefined): void {
    this.#listener = listener
  }

  close(): void {
    this.#listener = undefined
    this.#socket?.close()
    this.#socket = undefined
  }
}
