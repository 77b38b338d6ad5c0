import { connect, type Socket } from 'node:net'
import mqttPacket, { type Packet } from 'mqtt-packet'

/** A raw TCP connection to a broker that records every packet it receives and when it closed. */
export interface RawClient {
  readonly socket: Socket
  readonly packets: Packet[]
  /** Every byte received, in order (to check exact encodings). */
  readonly bytes: Buffer[]
  /** Resolves with the first packet, or 'closed' when the connection ended first. */
  readonly first: Promise<Packet | 'closed'>
  readonly closed: Promise<void>
  send(packet: Packet | Buffer): void
  /** Resolves with the next packet of cmd, or 'closed'. */
  next(cmd: Packet['cmd'], timeoutMs?: number): Promise<Packet | 'closed' | 'timeout'>
  end(): void
}

/** Opens a raw connection from localAddress (127.0.0.x gives each test client an address of its own). */
export async function rawClient(port: number, localAddress = '127.0.0.1'): Promise<RawClient> {
  const socket = connect({ port, host: '127.0.0.1', localAddress })
  socket.on('error', () => {})
  const packets: Packet[] = []
  const bytes: Buffer[] = []
  const waiters: ((packet: Packet | 'closed') => void)[] = []
  const parser = mqttPacket.parser({ protocolVersion: 4 })
  parser.on('packet', (packet: Packet) => {
    packets.push(packet)
    for (const waiter of waiters.splice(0)) waiter(packet)
  })
  parser.on('error', () => {})
  socket.on('data', (chunk: Buffer) => {
    bytes.push(chunk)
    parser.parse(chunk)
  })
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  void closed.then(() => {
    for (const waiter of waiters.splice(0)) waiter('closed')
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve())
    socket.once('error', reject)
  })
  const first = new Promise<Packet | 'closed'>((resolve) => {
    if (packets[0]) resolve(packets[0])
    else waiters.push(resolve)
  })
  return {
    socket,
    packets,
    bytes,
    first,
    closed,
    send: (packet) => socket.write(Buffer.isBuffer(packet) ? packet : mqttPacket.generate(packet)),
    next(cmd, timeoutMs = 5000) {
      const found = packets.find((p) => p.cmd === cmd)
      if (found) {
        packets.splice(packets.indexOf(found), 1)
        return Promise.resolve(found)
      }
      if (socket.destroyed) return Promise.resolve('closed')
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve('timeout'), timeoutMs)
        const wait = (packet: Packet | 'closed'): void => {
          if (packet === 'closed' || packet.cmd === cmd) {
            clearTimeout(timer)
            if (packet !== 'closed') packets.splice(packets.indexOf(packet), 1)
            resolve(packet)
            return
          }
          waiters.push(wait)
        }
        waiters.push(wait)
      })
    },
    end: () => socket.destroy(),
  }
}

/** A CONNECT packet (MQTT 3.1.1 unless overridden). */
export function connectPacket(fields: Partial<mqttPacket.IConnectPacket> = {}): mqttPacket.IConnectPacket {
  return {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    keepalive: 30,
    clientId: '',
    ...fields,
  }
}

/** Connects with a username and password and resolves with the CONNACK (or 'closed'). */
export async function login(
  port: number,
  fields: Partial<mqttPacket.IConnectPacket>,
  localAddress = '127.0.0.1',
): Promise<{ client: RawClient; connack: mqttPacket.IConnackPacket | 'closed' }> {
  const client = await rawClient(port, localAddress)
  client.send(connectPacket(fields))
  const packet = await client.first
  return { client, connack: packet === 'closed' ? 'closed' : (packet as mqttPacket.IConnackPacket) }
}
