import { type AddressInfo, createServer } from 'node:net'
import { Aedes } from 'aedes'

/**
 * Reference for the MQTT benchmarks: bare aedes 1.2, in-memory, no hooks, Nagle off. Listens on
 * BENCH_BROKER_PORT (default 0, a free port) so a restart can come back on the same port.
 */
const broker = await Aedes.createBroker()
const server = createServer((socket) => {
  socket.setNoDelay(true)
  broker.handle(socket)
})
server.listen(Number(process.env.BENCH_BROKER_PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'ready', port: (server.address() as AddressInfo).port })}\n`)
})
process.on('SIGTERM', () => {
  server.close()
  broker.close(() => process.exit(0))
})
