import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type RunningCollector, startCollector } from '../../collector/main.js'
import type { StoredEvent } from '../../collector/store/event-store.js'
import { type AgentProcess, startAgentProcess, writeAgentConfigFile } from '../agent/support/agent-process.js'
import { addDevice, tempDir, testConfig } from '../collector/collector-harness.js'
import { eventually } from '../support/eventually.js'

/** The real agent program (built, --simulate) against the real collector: the product end to end. */

async function allEvents(collector: RunningCollector, deviceId: string): Promise<StoredEvent[]> {
  const events: StoredEvent[] = []
  let cursor: string | undefined
  do {
    const page = await collector.store.queryEvents({ deviceId, limit: 1000, ...(cursor ? { cursor } : {}) })
    events.push(...page.items)
    cursor = page.nextCursor
  } while (cursor)
  return events
}

function expectNoDuplicates(events: readonly StoredEvent[]): void {
  expect(new Set(events.map((e) => e.id)).size).toBe(events.length)
  const seqs = events.filter((e) => e.type !== 'status').map((e) => e.seq)
  expect(new Set(seqs).size).toBe(seqs.length)
}

function writeAgentConfig(dir: string, url: string, secret: string): Promise<string> {
  return writeAgentConfigFile(dir, { url, secret })
}

/** PIDs of processes whose command line mentions path (a temp folder only this test uses). */
function processesUsing(path: string): number[] {
  const out = spawnSync('pgrep', ['-f', path], { encoding: 'utf8' }).stdout ?? ''
  return out.split('\n').filter(Boolean).map(Number)
}

describe('agent and collector end to end', () => {
  let collector: RunningCollector | undefined
  let agent: AgentProcess | undefined
  let cleanup: (() => void) | undefined

  afterEach(async () => {
    if (agent && agent.child.exitCode === null) await agent.kill9()
    await collector?.close()
    cleanup?.()
    agent = undefined
    collector = undefined
  })

  it('delivers what was recorded during an outage exactly once, presses before readings', async () => {
    const dir = tempDir('system-outage')
    cleanup = dir.cleanup
    const collectorDir = join(dir.path, 'collector')
    const secret = await addDevice(collectorDir, 'front-door')
    collector = await startCollector(testConfig(collectorDir))
    const port = collector.mqttPort
    agent = await startAgentProcess(await writeAgentConfig(dir.path, `mqtt://127.0.0.1:${port}`, secret))
    const running = agent

    const online = await running.post('/button/press')
    expect(online.status).toBe(200)
    await eventually(
      async () => Boolean(await collector?.store.getEvent(String(online.body.id))),
      'first press stored',
    )

    await collector.close()
    collector = undefined
    const outagePresses: string[] = []
    for (let i = 0; i < 10; i++) {
      expect((await running.post('/temperature', { celsius: 5 + i * 2 })).status).toBe(200)
      const press = await running.post('/button/press')
      expect(press.status).toBe(200)
      outagePresses.push(String(press.body.id))
    }
    // Let the batcher write the readings to the outbox while the collector is still down.
    await new Promise((resolve) => setTimeout(resolve, 300))

    collector = await startCollector(testConfig(collectorDir, { mqtt: { port, wsPort: null } }))
    const back = collector
    await eventually(async () => {
      for (const id of outagePresses) if (!(await back.store.getEvent(id))) return false
      return true
    }, 'every outage press stored')
    await eventually(
      async () => ((await running.get('/state')).outbox as { totalBytes: number }).totalBytes === 0,
      'agent outbox drained',
    )

    const events = await allEvents(back, 'front-door')
    expectNoDuplicates(events)
    const presses = events.filter((e) => e.type === 'button.press')
    expect(presses.map((e) => e.id).sort()).toEqual([String(online.body.id), ...outagePresses].sort())
    const outageStart = Date.parse((presses.find((e) => e.id === outagePresses[0]) as StoredEvent).capturedAt)
    const readings = events.filter((e) => e.type === 'temperature' && Date.parse(e.capturedAt) >= outageStart)
    expect(readings.length).toBeGreaterThan(0)
    const lastPressStoredAt = Math.max(
      ...presses.filter((e) => outagePresses.includes(e.id)).map((e) => e.receivedAtMs),
    )
    const firstReadingStoredAt = Math.min(...readings.map((e) => e.receivedAtMs))
    expect(lastPressStoredAt).toBeLessThanOrEqual(firstReadingStoredAt)
  })

  it('loses no recorded press and stores none twice when the agent is killed mid-stream', async () => {
    const dir = tempDir('system-kill9')
    cleanup = dir.cleanup
    const collectorDir = join(dir.path, 'collector')
    const secret = await addDevice(collectorDir, 'front-door')
    collector = await startCollector(testConfig(collectorDir))
    const configFile = await writeAgentConfig(dir.path, `mqtt://127.0.0.1:${collector.mqttPort}`, secret)

    const recorded: string[] = []
    for (let life = 0; life < 3; life++) {
      agent = await startAgentProcess(configFile)
      const current = agent
      const attempts: Promise<unknown>[] = []
      const killAt = 5 + Math.floor(Math.random() * 20)
      for (let i = 0; i < 30; i++) {
        if (i === killAt) {
          await current.kill9()
          break
        }
        attempts.push(
          current
            .post('/button/press')
            .then((r) => {
              if (r.status === 200) recorded.push(String(r.body.id))
            })
            .catch(() => undefined),
        )
        attempts.push(current.post('/light', { lux: 100 + i }).catch(() => undefined))
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      await Promise.all(attempts)
    }
    agent = await startAgentProcess(configFile)
    const last = agent
    const store = collector.store
    await eventually(async () => {
      for (const id of recorded) if (!(await store.getEvent(id))) return false
      return true
    }, 'every recorded press stored')
    await eventually(
      async () => ((await last.get('/state')).outbox as { totalBytes: number }).totalBytes === 0,
      'agent outbox drained',
    )
    expect(recorded.length).toBeGreaterThan(0)
    expectNoDuplicates(await allEvents(collector, 'front-door'))
  })

  it('takes its camera down with it when the agent is killed with SIGKILL', async () => {
    const dir = tempDir('system-orphan')
    cleanup = dir.cleanup
    const collectorDir = join(dir.path, 'collector')
    const secret = await addDevice(collectorDir, 'front-door')
    collector = await startCollector(testConfig(collectorDir))
    agent = await startAgentProcess(
      await writeAgentConfig(dir.path, `mqtt://127.0.0.1:${collector.mqttPort}`, secret),
    )
    const ring = join(dir.path, 'agent', 'ring')
    await eventually(() => processesUsing(ring).length > 0, 'the simulated camera running')
    await agent.kill9()
    await eventually(() => processesUsing(ring).length === 0, 'no camera left behind', 5_000)
  })
})
