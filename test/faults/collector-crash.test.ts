import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { LevelEventStore } from '../../collector/store/level-event-store.js'
import {
  type AgentProcess,
  startAgentProcess,
  withoutMedia,
  writeAgentConfigFile,
} from '../agent/support/agent-process.js'
import { addDevice, tempDir } from '../collector/collector-harness.js'
import { eventually } from '../support/eventually.js'
import { type CollectorProcess, startCollectorProcess } from './support/collector-process.js'
import { allStoredEvents, countFaultOutcome, envCount, printCountLine } from './support/fault-count.js'
import { pickKillPoints } from './support/kill-points.js'

/**
 * Collector crashes: the built collector (`node dist/collector/main.js --config X`) is killed with SIGKILL
 * at random points while the real agent streams presses and readings, FAULT_KILLS times over FAULT_EVENTS
 * events. Sent = every event the agent recorded (seqs 1..lastSeq; presses also by confirmed id).
 */
const totalEvents = envCount('FAULT_EVENTS', 10_000)
const kills = envCount('FAULT_KILLS', 20)

describe('fault: collector killed with SIGKILL during a stream', () => {
  let collector: CollectorProcess | undefined
  let agent: AgentProcess | undefined
  let cleanup: (() => void) | undefined

  afterEach(async () => {
    if (agent && agent.child.exitCode === null) await agent.kill9()
    await collector?.kill9()
    cleanup?.()
  })

  it(`loses nothing and duplicates nothing over ${kills} collector kills and ${totalEvents} events`, async () => {
    const dir = tempDir('fault-collector-crash')
    cleanup = dir.cleanup
    const dataDir = join(dir.path, 'collector')
    const secret = await addDevice(dataDir, 'front-door')
    const collectorYaml = (port: number) =>
      stringify({
        dataDir,
        host: '127.0.0.1',
        logLevel: 'info',
        mqtt: { port, wsPort: null },
        http: { port: null },
        limits: { devicePublishesPerS: 100_000, devicePublishBurst: 100_000 },
      })
    const collectorConfig = join(dir.path, 'collector.yaml')
    await writeFile(collectorConfig, collectorYaml(0))
    collector = await startCollectorProcess(collectorConfig)
    // Later lives listen on the same port, so the agent finds the collector again.
    await writeFile(collectorConfig, collectorYaml(collector.mqttPort))
    const agentConfig = await writeAgentConfigFile(
      dir.path,
      { url: `mqtt://127.0.0.1:${collector.mqttPort}`, secret },
      {
        ...withoutMedia,
        outbox: { ackTimeoutMs: 2_000 },
        medium: { batchIntervalMs: 50, batchMaxItems: 20, temperatureDeltaC: 0 },
      },
    )
    agent = await startAgentProcess(agentConfig)
    const running = agent
    const killAt = pickKillPoints(totalEvents, kills)
    const sent = new Set<string>()
    let killed = 0
    let restarting: Promise<void> = Promise.resolve()
    for (let i = 0; i < totalEvents; i += 2) {
      const pair = Promise.all([
        running.post('/button/press').then((r) => {
          if (r.status === 200) sent.add(String(r.body.id))
        }),
        running.post('/temperature', { celsius: (i % 1000) / 10 }),
      ])
      if (killAt.has(i)) {
        // One kill at a time: the stream goes on while the collector is down and restarting.
        await restarting
        const victim = collector
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 4))
        await victim?.kill9()
        killed += 1
        restarting = startCollectorProcess(collectorConfig).then((next) => {
          collector = next
        })
      }
      await pair
    }
    await restarting
    await new Promise((resolve) => setTimeout(resolve, 200))
    await eventually(() => running.isOutboxEmpty(), 'agent outbox drained', 60_000)
    const lastSeq = Number((await running.get('/state')).lastSeq)
    await running.stop()
    await collector?.stop()
    const store = await LevelEventStore.open({ path: join(dataDir, 'events'), isSyncWrite: false })
    try {
      const stored = await allStoredEvents(store, 'front-door')
      const count = countFaultOutcome(sent, stored, lastSeq)
      printCountLine('collector-crash', count, { kills: killed })
      expect(killed).toBe(killAt.size)
      expect(count.confirmedIds).toBe(totalEvents / 2)
      expect(count.lost).toBe(0)
      expect(count.duplicated).toBe(0)
    } finally {
      await store.close()
    }
  }, 600_000)
})
