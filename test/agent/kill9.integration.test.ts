import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type LoopbackBroker, startLoopbackBroker } from '../../bench/loopback-broker.js'
import { eventually } from '../support/eventually.js'
import { type AgentProcess, startAgentProcess, writeAgentConfigFile } from './support/agent-process.js'
import { TestAcker } from './support/test-acker.js'

describe('doorbell-agent killed with SIGKILL mid-stream', () => {
  let broker: LoopbackBroker | undefined
  let acker: TestAcker | undefined
  let agent: AgentProcess | undefined
  let dir = ''

  afterEach(async () => {
    if (agent && agent.child.exitCode === null) await agent.kill9()
    await acker?.close()
    await broker?.close()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('loses no acknowledged-to-the-caller press and creates no duplicates', async () => {
    broker = await startLoopbackBroker()
    acker = await TestAcker.start(broker.url)
    dir = await mkdtemp(join(tmpdir(), 'agent-kill9-'))
    const configFile = await writeAgentConfigFile(dir, { url: broker.url, secret: 'secret' })
    const recordedIds: string[] = []
    const attempts: Promise<unknown>[] = []
    agent = await startAgentProcess(configFile)
    const first = agent
    for (let i = 0; i < 40; i++) {
      attempts.push(
        first
          .post('/button/press')
          .then((r) => {
            if (r.status === 200) recordedIds.push(String(r.body.id))
          })
          .catch(() => undefined),
      )
      attempts.push(first.post('/temperature', { celsius: 10 + i }).catch(() => undefined))
      if (i === 25) await first.kill9()
      else await new Promise((resolve) => setTimeout(resolve, 5))
    }
    await Promise.all(attempts)
    expect(recordedIds.length).toBeGreaterThan(0)
    // The broker saw the socket die and published the last will.
    await eventually(() => acker?.statuses.at(-1)?.state === 'offline', 'last will')

    agent = await startAgentProcess(configFile)
    for (let i = 0; i < 10; i++) {
      const r = await agent.post('/button/press')
      expect(r.status).toBe(200)
      recordedIds.push(String(r.body.id))
    }
    const stored = () => acker?.stored ?? new Map()
    await eventually(() => recordedIds.every((id) => stored().has(id)), 'every recorded press stored')
    const running = agent
    await eventually(() => running.isOutboxEmpty(), 'outbox drained')
    expect(await running.stop()).toBe(0)
    // A graceful stop publishes the retained offline status itself (no will on a clean DISCONNECT).
    await eventually(() => acker?.statuses.at(-1)?.state === 'offline', 'offline status on SIGTERM')
    expect(acker.statuses.filter((s) => s.state === 'online').length).toBeGreaterThanOrEqual(2)

    // Each confirmed press got its own event.
    expect(new Set(recordedIds).size).toBe(recordedIds.length)
    const events = [...stored().values()]
    const seqs = events.map((e) => e.seq)
    expect(new Set(seqs).size).toBe(seqs.length)
    // A seq taken by a write the kill interrupted is handed out again, so there are no gaps either.
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1))
    const presses = events.filter((e) => e.type === 'button.press')
    // Each press made at most one event: never more presses stored than were made.
    expect(presses.length).toBeLessThanOrEqual(50)
    expect(presses.length).toBeGreaterThanOrEqual(recordedIds.length)
  })
})
