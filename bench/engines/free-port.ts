import { once } from 'node:events'
import { type AddressInfo, connect, createServer } from 'node:net'

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, for servers that cannot listen on port 0 and
 * report it (PostgreSQL, Redis, HAProxy). Callers retry on "address in use": another process may take it.
 */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Runs start with fresh free ports until it does not fail for an address in use (at most attempts). */
export async function withFreePort<T>(start: (port: number) => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = await freeLoopbackPort()
    try {
      return await start(port)
    } catch (err) {
      const text = String((err as Error).message)
      const isPortTaken = /address already in use|EADDRINUSE|could not bind|cannot bind socket/i.test(text)
      if (!isPortTaken || attempt >= attempts) throw err
    }
  }
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
