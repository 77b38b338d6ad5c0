import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { generate } from 'mqtt-packet'
import { afterAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { createEnvelope, encodeEvent, topics } from '../../shared/protocol/index.js'
import { addDevice, tempDir } from '../collector/collector-harness.js'
import { eventually } from '../support/eventually.js'
import { type CollectorProcess, startCollectorProcess } from './support/collector-process.js'
import { envCount, printCountLine } from './support/fault-count.js'

/**
 * Bad input over real sockets to the built collector's broker: random bytes after a valid CONNECT,
 * mutated PUBLISH packets, oversized and malformed packets, slow-loris connections and a storm of
 * FAULT_STORM_CONNECTIONS (1,000) connections at once. The process must stay up with bounded RSS,
 * count the refusals in /metrics, and still ack an honest press afterwards.
 */
const fuzzConnections = envCount('FAULT_FUZZ_CONNECTIONS', 100)
const stormConnections = envCount('FAULT_STORM_CONNECTIONS', 1_000)
const slowLorisConnections = envCount('FAULT_SLOWLORIS_CONNECTIONS', 100)
const maxRssBytes = 400 * 1024 * 1024
const deviceId = 'front-door'

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return kib * 1024
}

async function rejections(httpPort: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()
  const byReason = new Map<string, number>()
  for (const line of text.split('\n')) {
    const match = /^doorbell_collector_rejections_total\{reason="([^"]+)"\} (\d+)/.exec(line)
    if (match) byReason.set(match[1] as string, Number(match[2]))
  }
  return byReason
}

function total(byReason: Map<string, number>): number {
  return [...byReason.values()].reduce((a, b) => a + b, 0)
}

function connectPacket(clientId: string, password: string): Buffer {
  return generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    clientId,
    keepalive: 30,
    username: deviceId,
    password: Buffer.from(password),
  })
}

/** Opens a socket, writes the chunks (a pause between them), and resolves once the server closes it or after holdMs. */
function hold(
  port: number,
  chunks: readonly Buffer[],
  holdMs: number,
  gapMs = 0,
): Promise<'closed' | 'open'> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ host: '127.0.0.1', port })
    let done = false
    const finish = (how: 'closed' | 'open') => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      resolve(how)
    }
    const timer = setTimeout(() => finish('open'), holdMs)
    socket.on('error', () => finish('closed'))
    socket.on('close', () => finish('closed'))
    socket.on('data', () => {})
    socket.once('connect', async () => {
      for (const chunk of chunks) {
        if (done) return
        socket.write(chunk)
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs))
      }
    })
  })
}

function mutate(packet: Buffer): Buffer {
  const bytes = Buffer.from(packet)
  const edits = 1 + Math.floor(Math.random() * 6)
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(Math.random() * bytes.length)
    bytes[at] = Math.floor(Math.random() * 256)
  }
  return Math.random() < 0.2 ? bytes.subarray(0, Math.floor(Math.random() * bytes.length)) : bytes
}

describe('fault: bad input to the broker over real sockets', () => {
  const dir = tempDir('fault-broker-fuzz')
  let collector: CollectorProcess | undefined

  afterAll(async () => {
    await collector?.kill9()
    dir.cleanup()
  })

  it('stays up with bounded memory, counts every refusal and still acks an honest press', async () => {
    const dataDir = join(dir.path, 'collector')
    const secret = await addDevice(dataDir, deviceId)
    const config = join(dir.path, 'collector.yaml')
    await writeFile(
      config,
      stringify({
        dataDir,
        host: '127.0.0.1',
        logLevel: 'info',
        mqtt: { port: 0, wsPort: null },
        http: { port: 0, metricsAccess: 'public' },
        limits: { connectTimeoutMs: 1_000, maxPacketBytes: 256 * 1024 },
      }),
    )
    collector = await startCollectorProcess(config)
    const running = collector
    const pid = running.child.pid as number
    const httpPort = running.httpPort as number
    const port = running.mqttPort
    let peakRss = rssBytes(pid)
    const sample = setInterval(() => {
      if (running.child.exitCode === null) peakRss = Math.max(peakRss, rssBytes(pid))
    }, 100)
    const phases: Record<string, number> = {}
    let sent = 0
    try {
      let before = total(await rejections(httpPort))
      const phase = async (name: string, run: () => Promise<unknown>) => {
        await run()
        await new Promise((r) => setTimeout(r, 300))
        const after = total(await rejections(httpPort))
        phases[name] = after - before
        before = after
        expect(running.child.exitCode, `collector alive after ${name}`).toBeNull()
      }

      // 1. Random bytes after a valid CONNECT (the device's own credentials).
      await phase('random-after-connect', async () => {
        for (let i = 0; i < fuzzConnections; i += 20) {
          await Promise.all(
            Array.from({ length: Math.min(20, fuzzConnections - i) }, (_, j) =>
              hold(
                port,
                [connectPacket(`fuzz-${i + j}`, secret), randomBytes(1 + Math.floor(Math.random() * 4096))],
                500,
              ),
            ),
          )
          sent += Math.min(20, fuzzConnections - i)
        }
      })

      // 2. Mutated PUBLISH packets (mqtt-packet's generate, then bytes overwritten or cut).
      const publish = generate({
        cmd: 'publish',
        topic: topics.event(deviceId, 'high'),
        payload: encodeEvent(createEnvelope({ deviceId, seq: 1, type: 'button.press', payload: {} })),
        qos: 1,
        messageId: 1,
        retain: false,
        dup: false,
      })
      await phase('mutated-publish', async () => {
        for (let i = 0; i < fuzzConnections; i += 20) {
          await Promise.all(
            Array.from({ length: Math.min(20, fuzzConnections - i) }, () =>
              hold(
                port,
                [connectPacket(deviceId, secret), ...Array.from({ length: 5 }, () => mutate(publish))],
                500,
              ),
            ),
          )
          sent += 5 * Math.min(20, fuzzConnections - i)
        }
      })

      // 3. Oversized (declares 256 MiB) and malformed (five length bytes) packets after CONNECT.
      await phase('oversized-malformed', async () => {
        const oversized = Buffer.from([0x32, 0xff, 0xff, 0xff, 0x7f])
        const badLength = Buffer.from([0x32, 0xff, 0xff, 0xff, 0xff, 0x01])
        const results = await Promise.all([
          ...Array.from({ length: 10 }, () =>
            hold(port, [connectPacket(deviceId, secret), oversized], 3_000),
          ),
          ...Array.from({ length: 10 }, () =>
            hold(port, [connectPacket(deviceId, secret), badLength], 3_000),
          ),
        ])
        sent += 20
        expect(results.every((r) => r === 'closed')).toBe(true)
      })

      // 4. Slow loris: a CONNECT one byte every 200 ms; the connect timeout (1 s) must cut every one.
      await phase('slow-loris', async () => {
        const packet = connectPacket('slow', secret)
        const bytes = Array.from(packet, (b) => Buffer.from([b]))
        const results = await Promise.all(
          Array.from({ length: slowLorisConnections }, () => hold(port, bytes, 5_000, 200)),
        )
        sent += slowLorisConnections
        expect(results.filter((r) => r === 'open')).toEqual([])
      })

      // 5. A storm of connections at once, each a CONNECT with a wrong password.
      await phase('storm', async () => {
        const results = await Promise.all(
          Array.from({ length: stormConnections }, (_, i) =>
            hold(port, [connectPacket(`storm-${i}`, 'wrong-password')], 20_000),
          ),
        )
        sent += stormConnections
        expect(results.filter((r) => r === 'open')).toEqual([])
      })

      // An honest device still gets its press acked.
      const honest = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
        clientId: deviceId,
        username: deviceId,
        password: secret,
        clean: false,
        reconnectPeriod: 0,
      })
      const acked = new Set<string>()
      honest.on('message', (_t, message) => {
        for (const id of (JSON.parse(message.toString()) as { payload: { ids: string[] } }).payload.ids)
          acked.add(id)
      })
      await honest.subscribeAsync(topics.ack(deviceId), { qos: 1 })
      const press = createEnvelope({ deviceId, seq: 2, type: 'button.press', payload: {} })
      await honest.publishAsync(topics.event(deviceId, 'high'), encodeEvent(press), { qos: 1 })
      await eventually(() => acked.has(press.id), 'ack of the honest press', 10_000)
      await honest.endAsync()

      const byReason = Object.fromEntries(await rejections(httpPort))
      printCountLine(
        'broker-fuzz',
        { sent, stored: 1, duplicated: 0 },
        { peakRssMiB: Math.round(peakRss / 1048576), ...phases, reasons: JSON.stringify(byReason) },
      )
      expect(peakRss).toBeLessThan(maxRssBytes)
      for (const [name, delta] of Object.entries(phases))
        expect(delta, `rejections counted in ${name}`).toBeGreaterThan(0)
    } finally {
      clearInterval(sample)
    }
  }, 300_000)
})
