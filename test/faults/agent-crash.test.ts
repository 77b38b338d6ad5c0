import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { LevelOutboxStore } from '../../agent/outbox/level-outbox-store.js'
import { type RunningCollector, startCollector } from '../../collector/main.js'
import {
  type AgentProcess,
  startAgentProcess,
  withoutMedia,
  writeAgentConfigFile,
} from '../agent/support/agent-process.js'
import { addDevice, tempDir, testConfig } from '../collector/collector-harness.js'
import { eventually } from '../support/eventually.js'
import { allStoredEvents, countFaultOutcome, envCount, printCountLine } from './support/fault-count.js'
import { pickKillPoints } from './support/kill-points.js'

/**
 * Agent crashes: the built agent is killed with SIGKILL at random points of a stream of presses and
 * readings, FAULT_KILLS times over FAULT_EVENTS events (full size: FAULT_EVENTS=10000 FAULT_KILLS=20).
 * Sent = presses the control endpoint confirmed + every id found in the dead agent's outbox.
 */
const totalEvents = envCount('FAULT_EVENTS', 10_000)
const kills = envCount('FAULT_KILLS', 20)

async function outboxIds(dataDir: string): Promise<string[]> {
  const store = new LevelOutboxStore({ directory: join(dataDir, 'outbox') })
  await store.open()
  try {
    const ids: string[] = []
    for await (const event of store.scan()) ids.push(event.id)
    return ids
  } finally {
    await store.close()
  }
}

describe('fault: agent killed with SIGKILL during a stream', () => {
  let collector: RunningCollector | undefined
  let agent: AgentProcess | undefined
  let cleanup: (() => void) | undefined

  afterEach(async () => {
    if (agent && agent.child.exitCode === null) await agent.kill9()
    await collector?.close()
    cleanup?.()
  })

  it(`loses nothing and duplicates nothing over ${kills} kills and ${totalEvents} events`, async () => {
    const dir = tempDir('fault-agent-crash')
    cleanup = dir.cleanup
    const collectorDir = join(dir.path, 'collector')
    const agentDir = join(dir.path, 'agent')
    const secret = await addDevice(collectorDir, 'front-door')
    collector = await startCollector(
      testConfig(collectorDir, { limits: { devicePublishesPerS: 100_000, devicePublishBurst: 100_000 } }),
    )
    const configFile = await writeAgentConfigFile(
      dir.path,
      { url: `mqtt://127.0.0.1:${collector.mqttPort}`, secret },
      { ...withoutMedia, medium: { batchIntervalMs: 50, batchMaxItems: 20, temperatureDeltaC: 0 } },
    )
    const killAt = pickKillPoints(totalEvents, kills)
    const sent = new Set<string>()
    let attempted = 0
    let killed = 0
    agent = await startAgentProcess(configFile)
    for (let i = 0; i < totalEvents; i += 2) {
      const current: AgentProcess = agent
      const pair = Promise.all([
        current
          .post('/button/press')
          .then((r) => {
            if (r.status === 200) sent.add(String(r.body.id))
          })
          .catch(() => undefined),
        current.post('/temperature', { celsius: (i % 1000) / 10 }).catch(() => undefined),
      ])
      attempted += 2
      if (killAt.has(i)) {
        // Mid-request: the kill lands while the press is being recorded, or just after.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 4))
        await current.kill9()
        killed += 1
        await pair
        for (const id of await outboxIds(agentDir)) sent.add(id)
        agent = await startAgentProcess(configFile)
      } else {
        await pair
      }
    }
    const last: AgentProcess = agent
    // Readings still in the batcher are written to the outbox within batchIntervalMs.
    await new Promise((resolve) => setTimeout(resolve, 200))
    const store = collector.store
    await eventually(() => last.isOutboxEmpty(), 'agent outbox drained', 60_000)
    const lastSeq = Number((await last.get('/state')).lastSeq)
    const stored = await allStoredEvents(store, 'front-door')
    const count = countFaultOutcome(sent, stored, lastSeq)
    printCountLine('agent-crash', count, { attempted, kills: killed })
    expect(killed).toBe(killAt.size)
    expect(count.lost).toBe(0)
    expect(count.duplicated).toBe(0)
    expect(count.confirmedIds).toBeGreaterThan(totalEvents / 4)
  }, 600_000)
})
