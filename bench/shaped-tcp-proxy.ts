import { once } from 'node:events'
import { type AddressInfo, connect, createServer, type Socket } from 'node:net'

/** A TCP proxy on 127.0.0.1 (tests, and the benchmark's fallback without netns) whose device-to-collector direction is rate-limited; it can be cut. */
export interface ShapedProxy {
  readonly port: number
  readonly url: string
  /** Bytes forwarded from device to collector so far. */
  readonly forwardedBytes: number
  cut(): void
  heal(): void
  close(): Promise<void>
}

/**
 * Starts a proxy to 127.0.0.1:targetPort that forwards the client's bytes at most bytesPerS (in pieces
 * of at most 1 KiB, each released when the rate allows), like a slow uplink; the way back is not shaped.
 */
export async function startShapedProxy(
  targetPort: number,
  bytesPerS: number,
  targetHost = '127.0.0.1',
): Promise<ShapedProxy> {
  const sockets = new Set<Socket>()
  let isCut = false
  let forwardedBytes = 0
  const server = createServer((client) => {
    if (isCut) {
      client.destroy()
      return
    }
    const upstream = connect(targetPort, targetHost)
    upstream.setNoDelay(true)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => undefined)
    }
    let nextFreeAtMs = performance.now()
    let queuedBytes = 0
    client.on('data', (data: Buffer) => {
      for (let offset = 0; offset < data.length; offset += 1024) {
        const piece = data.subarray(offset, offset + 1024)
        nextFreeAtMs = Math.max(nextFreeAtMs, performance.now()) + (piece.length * 1000) / bytesPerS
        queuedBytes += piece.length
        setTimeout(
          () => {
            queuedBytes -= piece.length
            if (upstream.destroyed) return
            forwardedBytes += piece.length
            upstream.write(piece)
            if (queuedBytes < 64 * 1024 && client.isPaused()) client.resume()
          },
          Math.max(0, nextFreeAtMs - performance.now()),
        )
      }
      // Backpressure to the device, as a full send queue would give it.
      if (queuedBytes >= 64 * 1024) client.pause()
    })
    upstream.pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    get forwardedBytes() {
      return forwardedBytes
    },
    cut() {
      isCut = true
      for (const s of sockets) s.destroy()
    },
    heal() {
      isCut = false
    },
    async close() {
      isCut = true
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
