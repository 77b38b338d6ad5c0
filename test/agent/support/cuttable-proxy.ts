import { once } from 'node:events'
import { type AddressInfo, connect, createServer, type Socket } from 'node:net'

/** A TCP proxy on 127.0.0.1 that a test can cut (the Pi's Wi-Fi drops) and heal. */
export interface CuttableProxy {
  readonly port: number
  readonly url: string
  /** Drops every connection and refuses new ones until heal(). */
  cut(): void
  heal(): void
  close(): Promise<void>
}

/** Starts a proxy to 127.0.0.1:targetPort on a free port. */
export async function startCuttableProxy(targetPort: number): Promise<CuttableProxy> {
  const sockets = new Set<Socket>()
  let isCut = false
  const server = createServer((client) => {
    if (isCut) {
      client.destroy()
      return
    }
    const upstream = connect(targetPort, '127.0.0.1')
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => undefined)
    }
    client.pipe(upstream)
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
