#!/usr/bin/env node
import { EventEmitter } from 'node:events'
import { Duplex } from 'node:stream'
import mqttPacket from 'mqtt-packet'
import { MqttPacketLimiter } from '../collector/broker/mqtt-packet-limiter.js'
import {
  hashGeneratedSecret,
  hashSecret,
  newSecret,
  verifyGeneratedSecret,
  verifySecret,
} from '../collector/registry/secret-hash.js'
import { type BenchFigure, emitFigures } from './bench-figures.js'

/**
 * What the MQTT front door costs per packet and per login, beside its references, in one process:
 *
 * - inbound: QoS 1 PUBLISHes of a reading (its topic, 200-byte payload) fed in 64 KiB chunks through
 *   MqttPacketLimiter (fixed header, topic, packet id checked), against a Duplex that only passes chunks on;
 * - outbound: the same PUBLISHes written as mqtt-packet writes them (six writes each), through the limiter
 *   (packet ids noted) against the pass-through;
 * - a device login: the salted SHA-256 check of a generated secret against the scrypt check it replaced.
 *
 * BENCH_FRONT_DOOR_PACKETS and BENCH_RUNS change the size. Medians of BENCH_RUNS alternating runs, in CPU
 * time (login checks in wall time: scrypt runs on libuv's pool).
 */

const packetCount = Number(process.env.BENCH_FRONT_DOOR_PACKETS ?? 20_000)
const runs = Number(process.env.BENCH_RUNS ?? 7)

class NullSocket extends EventEmitter {
  pause(): void {}
  resume(): void {}
  destroy(): void {}
  end(): void {}
  cork(): void {}
  uncork(): void {}
  write(): boolean {
    return true
  }
}

/** The reference: a Duplex that hands each chunk on as the limiter does, checking nothing. */
class PassThroughDoor extends Duplex {
  readonly #socket: NullSocket
  constructor(socket: NullSocket) {
    super()
    this.#socket = socket
    socket.on('data', (chunk: Buffer) => this.push(chunk))
  }
  override _read(): void {}
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.#socket.write()
    void chunk
    done()
  }
}

const connect = mqttPacket.generate({
  cmd: 'connect',
  protocolId: 'MQTT',
  protocolVersion: 4,
  clean: true,
  keepalive: 30,
  clientId: 'porch',
})
const publishes = Array.from({ length: packetCount }, (_, i) => ({
  cmd: 'publish' as const,
  topic: 'doorbell/v1/porch/event/medium',
  payload: Buffer.alloc(200, 97),
  qos: 1 as const,
  messageId: (i % 65_535) + 1,
  retain: false,
  dup: false,
}))
const stream = Buffer.concat(publishes.map((p) => mqttPacket.generate(p)))
const chunks: Buffer[] = []
for (let at = 0; at < stream.length; at += 65_536) chunks.push(stream.subarray(at, at + 65_536))
const connack = Buffer.from([0x20, 0x02, 0x00, 0x00])

function door(kind: 'front door' | 'pass-through', socket: NullSocket): Duplex {
  const made =
    kind === 'front door'
      ? new MqttPacketLimiter(socket as unknown as Duplex, {
          maxPacketBytes: 262_144,
          onRefused: (reason) => {
            throw new Error(`refused: ${reason}`)
          },
        })
      : new PassThroughDoor(socket)
  made.on('data', () => {})
  return made
}

/** CPU time of this process (user + system), in ns: less moved than wall time by other work on the machine. */
function cpuNs(): number {
  const { user, system } = process.cpuUsage()
  return (user + system) * 1000
}

function inboundNsPerPacket(kind: 'front door' | 'pass-through'): number {
  const socket = new NullSocket()
  door(kind, socket)
  socket.emit('data', connect)
  const startedAt = cpuNs()
  for (let round = 0; round < 5; round++) for (const chunk of chunks) socket.emit('data', chunk)
  return (cpuNs() - startedAt) / (5 * packetCount)
}

function outboundNsPerPacket(kind: 'front door' | 'pass-through'): number {
  const socket = new NullSocket()
  const made = door(kind, socket)
  made.write(connack)
  const startedAt = cpuNs()
  for (const packet of publishes) mqttPacket.writeToStream(packet, made)
  return (cpuNs() - startedAt) / packetCount
}

async function loginUs(kind: 'sha256' | 'scrypt', tries: number): Promise<number> {
  const secret = newSecret()
  const stored = kind === 'sha256' ? hashGeneratedSecret(secret) : await hashSecret(secret)
  const startedAt = process.hrtime.bigint()
  for (let i = 0; i < tries; i++) {
    const isMatch =
      kind === 'sha256' ? verifyGeneratedSecret(secret, stored) : await verifySecret(secret, stored)
    if (!isMatch) throw new Error('secret did not verify')
  }
  return Number(process.hrtime.bigint() - startedAt) / 1000 / tries
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1] as number
const samples = {
  inFront: [] as number[],
  inPass: [] as number[],
  outFront: [] as number[],
  outPass: [] as number[],
}
for (let run = 0; run < runs; run++) {
  samples.inPass.push(inboundNsPerPacket('pass-through'))
  samples.inFront.push(inboundNsPerPacket('front door'))
  samples.outPass.push(outboundNsPerPacket('pass-through'))
  samples.outFront.push(outboundNsPerPacket('front door'))
}
const sha256Us = await loginUs('sha256', 20_000)
const scryptUs = await loginUs('scrypt', 20)

const rows = [
  [
    'inbound QoS 1 PUBLISH',
    'ns/packet',
    median(samples.inFront),
    median(samples.inPass),
    'pass-through Duplex',
  ],
  [
    'outbound QoS 1 PUBLISH',
    'ns/packet',
    median(samples.outFront),
    median(samples.outPass),
    'pass-through Duplex',
  ],
  ['device login check', 'us/login', sha256Us, scryptUs, 'scrypt (before)'],
] as const
console.log(`front door, ${packetCount} packets x ${runs} runs (medians)\n`)
console.log('| what | unit | front door | reference | reference is | difference |')
console.log('|---|---|---:|---:|---|---:|')
for (const [what, unit, value, reference, is] of rows) {
  console.log(
    `| ${what} | ${unit} | ${value.toFixed(1)} | ${reference.toFixed(1)} | ${is} | ${(value - reference).toFixed(1)} |`,
  )
}
const figures: BenchFigure[] = rows.map(([what, unit, value, reference, is]) => ({
  name: what,
  value,
  unit,
  better: 'lower',
  reference: is,
  referenceValue: reference,
}))
emitFigures('front-door', figures)
