import { once } from 'node:events'
import { type AddressInfo, connect, createServer, type Socket } from 'node:net'

/**
 * A TCP proxy on 127.0.0.1 (tests, and the benchmark's fallback without netns) whose device-to-collector
 * direction can be rate-limited; it can be cut, as when the Pi's Wi-Fi drops, and healed.
 */
export interface ShapedProxy {
  readonly port: number
  readonly url: string
  /** Bytes forwarded from device to collector so far. */
  readonly forwardedBytes: number
  /** Drops every connection and refuses new ones until heal(). */
  cut(): void
  heal(): void
  close(): Promise<void>
}

/**
 * Starts a proxy to targetHost:targetPort that forwards the client's bytes at most bytesPerS (in pieces
 * of at most 1 KiB, each released when the rate allows), like a slow uplink; the way back is not shaped.
 * With bytesPerS Infinity (the default) both ways are plain pipes, no pacing.
 */
export async function startShapedProxy(
  targetPort: number,
  bytesPerS = Number.POSITIVE_INFINITY,
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
    if (Number.isFinite(bytesPerS)) {
      forwardShaped(client, upstream, bytesPerS, (bytes) => {
        forwardedBytes += bytes
      })
    } else {
      client.on('data', (data: Buffer) => {
        forwardedBytes += data.length
      })
      client.pipe(upstream)
    }
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

/** Forwards client to upstream at most bytesPerS in pieces of 1 KiB; pauses client while 64 KiB wait. */
function forwardShaped(
  client: Socket,
  upstream: Socket,
  bytesPerS: number,
  onForwarded: (bytes: number) => void,
): void {
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
          onForwarded(piece.length)
          upstream.write(piece)
          if (queuedBytes < 64 * 1024 && client.isPaused()) client.resume()
        },
        Math.max(0, nextFreeAtMs - performance.now()),
      )
    }
    // Backpressure to the device, as a full send queue would give it.
    if (queuedBytes >= 64 * 1024) client.pause()
  })
}
