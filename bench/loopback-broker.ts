import { once } from 'node:events'
import { type AddressInfo, createServer, type Socket } from 'node:net'
import { Aedes } from 'aedes'

/** A real aedes broker on 127.0.0.1 and a free port, with in-memory persistence (sessions survive reconnects). */
export interface LoopbackBroker {
  readonly broker: Aedes
  readonly port: number
  readonly url: string
  close(): Promise<void>
}

/**
 * Starts bare aedes on port 0 for the agent benchmarks and tests: Nagle off on every connection (small
 * packets would otherwise wait for delayed ACKs); close() drops the clients, then stops the broker.
 */
export async function startLoopbackBroker(): Promise<LoopbackBroker> {
  const broker = await Aedes.createBroker()
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    socket.setNoDelay(true)
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    broker.handle(socket)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    broker,
    port,
    url: `mqtt://127.0.0.1:${port}`,
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await new Promise<void>((resolve) => broker.close(() => resolve()))
    },
  }
}
