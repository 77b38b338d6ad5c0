import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { type RunningCollector, startCollector } from '../../collector/main.js'
import type { StoredEvent } from '../../collector/store/event-store.js'
import {
  type AgentProcess,
  AgentStartError,
  startAgentProcess,
  withoutMedia,
  writeAgentConfigFile,
} from '../agent/support/agent-process.js'
import { addDevice, testConfig } from '../collector/collector-harness.js'
import {
  arm64App,
  arm64NodeBinary,
  arm64TempDir,
  arm64UnavailableReason,
  elfMachine,
  elfMachineAarch64,
  emulated,
  QemuCrashError,
  qemuCrashOf,
  retryingQemuCrashes,
  runEmulated,
} from '../support/arm64-emulation.js'
import { eventually } from '../support/eventually.js'

/**
 * The built agent on emulated arm64 (QEMU user mode, npm's arm64 Node, the agent's production dependencies
 * installed for arm64 on this machine) against the x64 collector in this process, over loopback. What it
 * proves and what still needs a real Pi: docs/deployment.md, "What is proven on arm64".
 */

const skipReason = arm64UnavailableReason()
/** Emulated Node starts in 3 to 10 s here (2 cores), against well under 1 s natively. */
const readyDeadlineMs = 90_000
const emulatedPrefix = emulated([])
async function eventsOf(collector: RunningCollector): Promise<StoredEvent[]> {
  return (await collector.store.queryEvents({ deviceId: 'front-door', limit: 1000 })).items
}

/** Throws QemuCrashError when one of the agents started in an attempt died of the emulator, not of the test. */
function crashOfAgents(err: unknown, agents: readonly AgentProcess[]): string | undefined {
  if (err instanceof AgentStartError) {
    const crash = qemuCrashOf({ signal: err.signal, stderr: err.stderr })
    if (crash) return crash
  }
  for (const agent of agents) {
    const crash = qemuCrashOf({ signal: agent.exitSignal(), stderr: agent.stderr() })
    if (crash) return crash
  }
  return undefined
}

describe.skipIf(skipReason)(
  `the agent on emulated arm64${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let node = ''
    let main = ''
    let app = ''

    beforeAll(() => {
      // First run: npm's arm64 Node (about 50 MB) and an arm64 npm ci, then cached (docs/deployment.md).
      node = arm64NodeBinary()
      app = arm64App(arm64TempDir('app'))
      main = join(app, 'dist/agent/main.js')
      return () => rmSync(join(app, '..'), { recursive: true, force: true })
    }, 300_000)

    it('loads the arm64 classic-level and node-datachannel binaries and uses them', async () => {
      const dir = arm64TempDir('probe')
      try {
        const probe = new URL('./support/arm64-native-probe.mjs', import.meta.url).pathname
        const run = await runEmulated([node, probe, app, join(dir, 'db')], { timeoutMs: 90_000 })
        expect(run.status, run.stderr).toBe(0)
        const result = JSON.parse(run.stdout) as {
          arch: string
          level: { arch: string }
          message: string
          nativeFiles: string[]
        }
        expect(result.arch).toBe('arm64')
        expect(result.level).toEqual({ arch: 'arm64' })
        expect(result.message).toBe('ding')
        const classicLevel = result.nativeFiles.find((f) =>
          f.includes('/classic-level/prebuilds/linux-arm64/'),
        )
        const datachannel = result.nativeFiles.find((f) => f.includes('/@node-datachannel/linux-arm64-gnu/'))
        expect(classicLevel, result.nativeFiles.join(', ')).toBeDefined()
        expect(datachannel, result.nativeFiles.join(', ')).toBeDefined()
        for (const file of result.nativeFiles) expect(elfMachine(file), file).toBe(elfMachineAarch64)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }, 120_000)

    it('acks a press, stores readings, and keeps what was not acked across kill -9 and restart', async () => {
      await retryingQemuCrashes(
        async () => {
          const dir = arm64TempDir('agent')
          const agents: AgentProcess[] = []
          let collector: RunningCollector | undefined
          const start = async (configFile: string): Promise<AgentProcess> => {
            const agent = await startAgentProcess(configFile, readyDeadlineMs, emulatedPrefix, { node, main })
            agents.push(agent)
            return agent
          }
          try {
            const collectorDir = join(dir, 'collector')
            const secret = await addDevice(collectorDir, 'front-door')
            collector = await startCollector(testConfig(collectorDir))
            const port = collector.mqttPort
            const configFile = await writeAgentConfigFile(
              dir,
              { url: `mqtt://127.0.0.1:${port}`, secret },
              withoutMedia,
            )
            let agent = await start(configFile)

            const press = await agent.post('/button/press')
            expect(press.status).toBe(200)
            const up = collector
            await eventually(
              async () => Boolean(await up.store.getEvent(String(press.body.id))),
              'press stored',
            )
            const first = agent
            // The agent forgets an event only on the collector's ack: an empty outbox is the ack.
            await eventually(() => first.isOutboxEmpty(), 'press acked (outbox empty)', 30_000)

            expect((await agent.post('/temperature', { celsius: 21.5 })).status).toBe(200)
            expect((await agent.post('/light', { lux: 320 })).status).toBe(200)
            const stored = await eventually(
              async () => {
                const events = await eventsOf(up)
                const t = events.find((e) => e.type === 'temperature' && e.payload.celsius === 21.5)
                const l = events.find((e) => e.type === 'light' && e.payload.lux === 320)
                return t && l ? { t, l } : undefined
              },
              'temperature and light stored',
              30_000,
            )
            expect(stored.t.deviceId).toBe('front-door')

            await collector.close()
            collector = undefined
            const unacked: string[] = []
            for (let i = 0; i < 3; i++) {
              const r = await agent.post('/button/press')
              expect(r.status).toBe(200)
              unacked.push(String(r.body.id))
            }
            const depthOf = async (a: AgentProcess) =>
              ((await a.get('/state')).outbox as { count: { high: number } }).count.high
            expect(await depthOf(agent)).toBe(3)
            await agent.kill9()

            // Collector still down: what the restarted agent holds came from its Level files alone.
            agent = await start(configFile)
            expect(await depthOf(agent)).toBe(3)

            collector = await startCollector(testConfig(collectorDir, { mqtt: { port, wsPort: null } }))
            const back = collector
            await eventually(
              async () => {
                for (const id of unacked) if (!(await back.store.getEvent(id))) return false
                return true
              },
              'the presses recorded while the collector was down stored',
              60_000,
            )
            const last = agent
            await eventually(() => last.isOutboxEmpty(), 'outbox drained after restart', 30_000)
            const presses = (await eventsOf(back)).filter((e) => e.type === 'button.press')
            expect(presses.map((e) => e.id).sort()).toEqual([String(press.body.id), ...unacked].sort())
            expect(await last.stop()).toBe(0)
          } catch (err) {
            const crash = crashOfAgents(err, agents)
            if (crash) throw new QemuCrashError(crash)
            throw err
          } finally {
            for (const a of agents)
              if (a.child.exitCode === null && a.child.signalCode === null) await a.kill9()
            await collector?.close()
            rmSync(dir, { recursive: true, force: true })
          }
        },
        (crash, attempt) =>
          console.warn(`arm64 agent scenario, attempt ${attempt}: ${crash}; running it again`),
      )
    }, 240_000)

    it('refuses to start on real hardware without GPIO, naming both backends it tried', async () => {
      const dir = arm64TempDir('nogpio')
      try {
        const configFile = await writeAgentConfigFile(
          dir,
          { url: 'mqtt://127.0.0.1:9', secret: 'unused' },
          withoutMedia,
        )
        const run = await runEmulated([node, main, '--config', configFile], { timeoutMs: 90_000 })
        const output = run.stdout + run.stderr
        expect(run.status, output).toBe(1)
        expect(output).toContain('HARDWARE_UNAVAILABLE')
        expect(output).toMatch(/libgpiod: .*sysfs: /)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }, 120_000)
  },
)
