import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Crowd, makeCrowd } from '../../../bench/mqtt-crowd.js'
import type { RunningCollector } from '../../../collector/main.js'
import { rejections, startCollector, tempDir, testConfig } from '../collector-harness.js'

const devices = 600

describe('a street of devices reconnecting at once', () => {
  const dir = tempDir('reconnect-storm')
  let collector: RunningCollector
  let crowd: Crowd

  beforeAll(async () => {
    const street = makeCrowd(devices, dir.path)
    collector = await startCollector(
      testConfig(dir.path, { mqtt: { port: 0, wsPort: null, listenBacklog: 1500 } }),
    )
    crowd = new Crowd(street, {
      port: collector.mqttPort,
      withCredentials: true,
      keepaliveS: 60,
      backoff: { initialDelayMs: 1_000, maxDelayMs: 60_000 },
    })
  })

  afterAll(async () => {
    await crowd?.stop()
    await collector?.close()
    dir.cleanup()
  })

  it('listens with the configured backlog, so the kernel queues a storm instead of dropping its SYNs', () => {
    // For a listening socket ss shows the backlog as Send-Q.
    const line = execFileSync('ss', ['-Hltn', `sport = :${collector.mqttPort}`], { encoding: 'utf8' }).trim()
    expect(line.split(/\s+/)[2]).toBe('1500')
  })

  it('admits every device of a storm with CONNACK 0, none refused or retried', async () => {
    crowd.connectAllNow()
    expect(await crowd.waitFor(devices, 60_000)).toBe(true)
    expect(crowd.counts).toMatchObject({ connected: devices, attempts: devices, refused: 0, closedEarly: 0 })
    expect(await rejections(collector, 'auth_failed')).toBe(0)
    expect(await rejections(collector, 'preauth_per_address')).toBe(0)
  })
})
