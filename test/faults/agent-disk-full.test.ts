import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
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
import { mountTinyDisk, type TinyDisk } from './support/tiny-disk.js'

/**
 * Agent disk full: the agent's data folder is a 2 MiB tmpfs and the collector is down while presses and
 * FAULT_DISK_READINGS readings are recorded. Every press must still be recorded and later stored, the
 * readings (the lowest class here) are evicted first, and the log says so.
 */
const readings = envCount('FAULT_DISK_READINGS', 3_000)

describe('fault: the agent disk fills up while the collector is away', () => {
  let collector: RunningCollector | undefined
  let agent: AgentProcess | undefined
  let disk: TinyDisk | undefined
  let cleanup: (() => void) | undefined

  afterEach(async () => {
    if (agent && agent.child.exitCode === null) await agent.kill9()
    await collector?.close()
    disk?.release()
    cleanup?.()
  })

  it('keeps recording presses, evicts readings first and logs it', async (context) => {
    const mounted = mountTinyDisk('fault-agent-disk', '2m')
    if ('refused' in mounted) {
      context.skip(`tmpfs mount refused (${mounted.refused}); run as root`)
      return
    }
    disk = mounted
    const dir = tempDir('fault-agent-disk-full')
    cleanup = dir.cleanup
    const collectorDir = join(dir.path, 'collector')
    const secret = await addDevice(collectorDir, 'front-door')
    collector = await startCollector(testConfig(collectorDir))
    const port = collector.mqttPort
    const configFile = await writeAgentConfigFile(
      dir.path,
      { url: `mqtt://127.0.0.1:${port}`, secret },
      {
        ...withoutMedia,
        dataDir: mounted.path,
        // The outbox budget is what keeps a small disk from filling: half of this 2 MiB disk.
        outbox: { maxBytes: 1024 * 1024 },
        medium: { batchIntervalMs: 50, batchMaxItems: 50, temperatureDeltaC: 0 },
      },
    )
    agent = await startAgentProcess(configFile)
    const running = agent
    await collector.close()
    collector = undefined

    const presses = new Set<string>()
    let refusedPresses = 0
    for (let i = 0; i < readings; i++) {
      await running.post('/temperature', { celsius: (i % 1000) / 10 })
      if (i % 30 === 0) {
        const r = await running.post('/button/press')
        if (r.status === 200) presses.add(String(r.body.id))
        else refusedPresses += 1
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 300))
    const evictionLines = running.lines.filter((l) => l.includes('outbox full'))
    const state = (await running.get('/state')) as {
      outbox: { count: Record<string, number> }
      lastSeq: number
    }

    collector = await startCollector(testConfig(collectorDir, { mqtt: { port, wsPort: null } }))
    await eventually(() => running.isOutboxEmpty(), 'agent outbox drained', 60_000)
    const stored = await allStoredEvents(collector.store, 'front-door')
    const count = countFaultOutcome(presses, stored)
    const evicted = evictionLines.map((l) => JSON.parse(l) as { eventClass: string; count: number })
    printCountLine('agent-disk-full', count, {
      refusedPresses,
      readingsAttempted: readings,
      readingsStored: stored.filter((e) => e.type === 'temperature').length,
      evictedMedium: evicted.filter((e) => e.eventClass === 'medium').reduce((a, e) => a + e.count, 0),
      outboxAtPeak: JSON.stringify(state.outbox.count),
    })
    expect(refusedPresses).toBe(0)
    expect(count.lost).toBe(0)
    expect(count.duplicated).toBe(0)
    expect(evicted.length).toBeGreaterThan(0)
    expect(evicted.every((e) => e.eventClass !== 'high')).toBe(true)
  }, 300_000)
})
