import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import type { StoredEvent } from '../../collector/store/event-store.js'
import { LevelEventStore } from '../../collector/store/level-event-store.js'
import { type AgentProcess, startAgentProcess } from '../agent/support/agent-process.js'
import { addDevice, tempDir } from '../collector/collector-harness.js'
import { eventually } from '../support/eventually.js'
import { type CollectorProcess, startCollectorProcess } from './support/collector-process.js'
import { allStoredEvents, countFaultOutcome, envCount, printCountLine } from './support/fault-count.js'

/**
 * Network faults: the built collector runs in a network namespace of its own (netns-link.sh), the agent
 * on the host reaches it over the veth link. A partition (link down FAULT_PARTITION_S seconds, default
 * 30) while presses and readings are recorded, then FAULT_LOSS_PERCENT (20) packet loss on the
 * collector's side. Everything is delivered after healing, presses before the readings of the outage.
 */
const netnsLink = new URL('../../../shared/tools/netns-link.sh', import.meta.url).pathname
const partitionS = envCount('FAULT_PARTITION_S', 30)
const lossPercent = envCount('FAULT_LOSS_PERCENT', 20)
const perPhase = envCount('FAULT_NET_EVENTS', 100)
const ns = `fh${process.pid % 100_000}`
const nsIndex = String(100 + (process.pid % 100))
const env = { ...process.env, NETNS_INDEX: nsIndex }
const link = (...args: string[]) => execFileSync(netnsLink, args, { env, stdio: 'pipe' }).toString()

function canUseNetns(): string | undefined {
  if (!existsSync(netnsLink)) return `${netnsLink} is missing (the machine recipes beside the checkout)`
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'pipe' })
    return process.getuid?.() === 0 ? undefined : 'needs root'
  } catch (err) {
    return String(err)
  }
}

describe('fault: partition and packet loss between agent and collector', () => {
  const dir = tempDir('fault-network')
  let collector: CollectorProcess | undefined
  let agent: AgentProcess | undefined
  let isUp = false

  afterAll(async () => {
    if (agent && agent.child.exitCode === null) await agent.kill9()
    await collector?.kill9()
    if (isUp) link('down', ns)
    dir.cleanup()
  })

  it(`delivers everything after a ${partitionS} s partition and under ${lossPercent}% loss, presses first`, async (context) => {
    const refused = canUseNetns()
    if (refused) {
      context.skip(`network namespaces unavailable: ${refused}`)
      return
    }
    link('down', ns)
    const addresses = link('up', ns)
    isUp = true
    const nsIp = /NS_IP=(\S+)/.exec(addresses)?.[1] as string
    const dataDir = join(dir.path, 'collector')
    const secret = await addDevice(dataDir, 'front-door')
    const collectorConfig = join(dir.path, 'collector.yaml')
    await writeFile(
      collectorConfig,
      stringify({
        dataDir,
        host: nsIp,
        logLevel: 'info',
        mqtt: { port: 0, wsPort: null },
        http: { port: null },
      }),
    )
    collector = await startCollectorProcess(collectorConfig, 15_000, ['ip', 'netns', 'exec', ns])
    const agentConfig = join(dir.path, 'agent.yaml')
    await writeFile(
      agentConfig,
      stringify({
        deviceId: 'front-door',
        mqtt: {
          url: `mqtt://${nsIp}:${collector.mqttPort}`,
          username: 'front-door',
          password: secret,
          keepaliveS: 5,
          connectTimeoutMs: 2_000,
          reconnectInitialMs: 100,
          reconnectMaxMs: 1_000,
        },
        dataDir: join(dir.path, 'agent'),
        outbox: { ackTimeoutMs: 3_000, retryDelayMs: 1_000 },
        gpio: { button: { line: 17, debounceMs: 0 } },
        // No camera or microphone: these scenarios are about events; ffmpeg would take the CPU (and the disk).
        media: { enabled: false, microphone: { enabled: false } },
        medium: { batchIntervalMs: 50, batchMaxItems: 20, temperatureDeltaC: 0 },
        logLevel: 'info',
      }),
    )
    agent = await startAgentProcess(agentConfig)
    const running = agent
    const drained = () => running.isOutboxEmpty()
    await eventually(async () => (await running.get('/state')).isOnline === true, 'agent online')

    const record = async (presses: Set<string>) => {
      for (let i = 0; i < perPhase; i++) {
        await running.post('/temperature', { celsius: i / 10 })
        const r = await running.post('/button/press')
        if (r.status === 200) presses.add(String(r.body.id))
      }
    }

    // Partition: the link goes down, the agent keeps recording, the link comes back.
    const partitionPresses = new Set<string>()
    const cutAtMs = Date.now()
    link('cut', ns)
    await record(partitionPresses)
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, cutAtMs + partitionS * 1000 - Date.now())))
    link('heal', ns)
    const healedAtMs = Date.now()
    await eventually(drained, 'outbox drained after the partition', 60_000)
    const deliveredAfterS = (Date.now() - healedAtMs) / 1000

    // Packet loss on the collector's outgoing packets (acks, CONNACKs, TCP ACKs).
    const lossPresses = new Set<string>()
    link('loss', ns, String(lossPercent))
    await record(lossPresses)
    await eventually(drained, `outbox drained under ${lossPercent}% loss`, 120_000)
    link('loss', ns, '0')
    const lastSeq = Number((await running.get('/state')).lastSeq)

    await running.stop()
    await collector.stop()
    const store = await LevelEventStore.open({ path: join(dataDir, 'events'), isSyncWrite: false })
    let stored: StoredEvent[]
    try {
      stored = await allStoredEvents(store, 'front-door')
    } finally {
      await store.close()
    }
    const partition = countFaultOutcome(partitionPresses, stored)
    const loss = countFaultOutcome(lossPresses, stored)
    const all = countFaultOutcome(new Set([...partitionPresses, ...lossPresses]), stored, lastSeq)
    // Presses of the partition were stored before any reading recorded during it.
    const storedAt = new Map(stored.map((e) => [e.id, e]))
    const pressesStoredBy = Math.max(
      ...[...partitionPresses].map((id) => storedAt.get(id)?.receivedAtMs ?? Infinity),
    )
    const partitionReadings = stored.filter(
      (e) =>
        e.type === 'temperature' &&
        Date.parse(e.capturedAt) >= cutAtMs &&
        Date.parse(e.capturedAt) < healedAtMs,
    )
    const firstReadingStoredAt = Math.min(...partitionReadings.map((e) => e.receivedAtMs))
    printCountLine('network-partition', partition, {
      partitionS,
      deliveredAfterS: deliveredAfterS.toFixed(1),
    })
    printCountLine('network-loss', loss, { lossPercent })
    printCountLine('network-all', all, { partitionReadings: partitionReadings.length })
    expect(all.lost).toBe(0)
    expect(all.duplicated).toBe(0)
    expect(partition.confirmedIds).toBe(perPhase)
    expect(loss.confirmedIds).toBe(perPhase)
    expect(partitionReadings.length).toBeGreaterThan(0)
    expect(pressesStoredBy).toBeLessThanOrEqual(firstReadingStoredAt)
  }, 300_000)
})
