import { spawn } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningCollector } from '../../../collector/main.js'
import { FileIdentityRegistry } from '../../../collector/registry/file-identity-registry.js'
import { topics } from '../../../shared/protocol/index.js'
import { addDevice, pubArgs, run, startCollector, tempDir, testConfig } from '../collector-harness.js'

/** A mosquitto_sub session of the device, as a tool on the device would hold one. */
function subscribe(port: number, deviceId: string, secret: string, clientId: string) {
  const args = pubArgs(port, deviceId, secret, clientId).filter((a) => a !== '-q' && a !== '1')
  const child = spawn('mosquitto_sub', [...args, '-t', topics.ack(deviceId), '-q', '1'], { stdio: 'ignore' })
  return { child }
}

describe('revoking a device cuts its sessions', () => {
  const dir = tempDir('rotation-cut')
  let collector: RunningCollector
  let secret: string
  const disconnectedAt = new Map<string, number>()

  beforeAll(async () => {
    secret = await addDevice(dir.path, 'porch')
    collector = await startCollector(testConfig(dir.path), {
      onEvent: (event) => {
        if (event.kind === 'client_disconnected' && !disconnectedAt.has(event.clientId)) {
          disconnectedAt.set(event.clientId, performance.now())
        }
      },
    })
  })

  afterAll(async () => {
    await collector?.close()
    dir.cleanup()
  })

  it('cuts every session opened with the old secret within 2 s of devices rotate, and lets the new secret in', async () => {
    const sessions = ['porch', 'porch:tool'].map((id) => subscribe(collector.mqttPort, 'porch', secret, id))
    // Both connected: wait until the collector has both clients.
    for (let i = 0; i < 100 && (await connected(collector)) < 2; i++) await sleep(50)
    expect(await connected(collector)).toBe(2)
    const rotatedAt = performance.now()
    const newSecret = await new FileIdentityRegistry(dir.path).rotateDevice('porch')
    for (let i = 0; i < 80 && disconnectedAt.size < 2; i++) await sleep(50)
    for (const s of sessions) s.child.kill()
    const cutMs = [...disconnectedAt.values()].map((at) => (at - rotatedAt).toFixed(0))
    console.log(`ROTATION-CUT sessions=${disconnectedAt.size} cut_after_ms=${cutMs.join(',')}`)
    // The collector looks at the registry every second; the cut follows at once.
    for (const id of ['porch', 'porch:tool']) {
      expect(disconnectedAt.get(id), `${id} cut`).toBeDefined()
      expect((disconnectedAt.get(id) as number) - rotatedAt).toBeLessThan(2000)
    }
    const publish = (password: string) =>
      run('mosquitto_pub', [
        ...pubArgs(collector.mqttPort, 'porch', password, 'porch'),
        '-t',
        topics.status('porch'),
        '-m',
        '{"state":"online"}',
      ])
    expect((await publish(secret)).code).not.toBe(0)
    expect((await publish(newSecret)).code).toBe(0)
  })
})

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

async function connected(collector: RunningCollector): Promise<number> {
  const text = await collector.metrics.registry.metrics()
  const line = text.split('\n').find((l) => l.startsWith('doorbell_collector_connected_clients '))
  return Number(line?.split(' ')[1] ?? 0)
}
