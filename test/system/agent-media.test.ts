import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type ShapedProxy, startShapedProxy } from '../../bench/shaped-tcp-proxy.js'
import { type RunningCollector, startCollector } from '../../collector/main.js'
import type { StoredEvent } from '../../collector/store/event-store.js'
import { type AgentProcess, startAgentProcess, writeAgentConfigFile } from '../agent/support/agent-process.js'
import { addDevice, metric, tempDir, testConfig } from '../collector/collector-harness.js'
import { eventually } from '../support/eventually.js'

/** The real agent program (--simulate: ffmpeg testsrc2 camera, simulated microphone) with the real collector. */

const apiToken = 'media-test-token-0123456789'
const KiB = 1024

function sha256Of(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex')
}

async function eventsOfType(collector: RunningCollector, type: StoredEvent['type']): Promise<StoredEvent[]> {
  return (await collector.store.queryEvents({ deviceId: 'front-door', type, limit: 1000 })).items
}

function writeAgentConfig(
  dir: string,
  url: string,
  secret: string,
  video: { videoBitrateKbps?: number } = {},
): Promise<string> {
  return writeAgentConfigFile(
    dir,
    { url, secret },
    {
      health: { intervalMs: 1000 },
      media: {
        widthPx: 320,
        heightPx: 240,
        frameRate: 10,
        videoBitrateKbps: video.videoBitrateKbps ?? 300,
        prerollMs: 2000,
        postrollMs: 2000,
        ring: { segmentMs: 1000, maxSegments: 10 },
        microphone: { windowMs: 200, reportIntervalMs: 1000 },
      },
    },
  )
}

/** The clip.manifest relating to a press, once stored. */
async function manifestFor(collector: RunningCollector, pressId: string) {
  return eventually(
    async () => {
      const manifests = await eventsOfType(collector, 'clip.manifest')
      const found = manifests.find((e) => e.type === 'clip.manifest' && e.payload.relatesTo === pressId)
      return found?.type === 'clip.manifest' ? found.payload : undefined
    },
    'clip manifest stored',
    20_000,
  )
}

async function clipComplete(collector: RunningCollector, clipId: string): Promise<string> {
  await eventually(
    async () => (await collector.store.getClip(clipId))?.state === 'complete',
    'clip complete',
    60_000,
  )
  const path = await collector.clips.clipFile('front-door', clipId)
  if (!path) throw new Error('complete clip has no file')
  return path
}

describe('agent media end to end', () => {
  let collector: RunningCollector | undefined
  let agent: AgentProcess | undefined
  let proxy: ShapedProxy | undefined
  let cleanup: (() => void) | undefined

  afterEach(async () => {
    if (agent && agent.child.exitCode === null) await agent.kill9()
    await proxy?.close()
    await collector?.close()
    cleanup?.()
    agent = undefined
    proxy = undefined
    collector = undefined
  })

  async function setup(name: string) {
    const dir = tempDir(name)
    cleanup = dir.cleanup
    const collectorDir = join(dir.path, 'collector')
    const secret = await addDevice(collectorDir, 'front-door')
    collector = await startCollector(testConfig(collectorDir, { http: { port: 0, apiToken } }))
    return { dir: dir.path, secret, collector }
  }

  it('follows a press with its snapshot and clip, serves the clip by range, and reports sound levels', async () => {
    const { dir, secret, collector: c } = await setup('media-e2e')
    agent = await startAgentProcess(await writeAgentConfig(dir, `mqtt://127.0.0.1:${c.mqttPort}`, secret))
    const running = agent
    await new Promise((resolve) => setTimeout(resolve, 2500)) // let the ring fill its pre-roll

    const press = await running.post('/button/press')
    expect(press.status).toBe(200)
    const pressId = String(press.body.id)
    const snapshot = await eventually(
      async () => {
        const shots = await eventsOfType(c, 'snapshot')
        return shots.find((e) => e.type === 'snapshot' && e.payload.relatesTo === pressId)
      },
      'snapshot of the press',
      20_000,
    )
    const pressEvent = await c.store.getEvent(pressId)
    expect(pressEvent && pressEvent.receivedAtMs <= snapshot.receivedAtMs).toBe(true)

    const manifest = await manifestFor(c, pressId)
    const path = await clipComplete(c, manifest.clipId)
    const agentClip = join(dir, 'agent', 'clips', `${manifest.clipId}.mp4`)
    expect(sha256Of(path)).toBe(sha256Of(agentClip))
    expect(sha256Of(path)).toBe(manifest.sha256)

    const base = `http://127.0.0.1:${c.httpPort}`
    const headers = { authorization: `Bearer ${apiToken}` }
    const ranged = await fetch(`${base}/api/clips/${manifest.clipId}`, {
      headers: { ...headers, range: 'bytes=100-4195' },
    })
    expect(ranged.status).toBe(206)
    expect(Buffer.from(await ranged.arrayBuffer()).equals(readFileSync(path).subarray(100, 4196))).toBe(true)
    const jpeg = await fetch(`${base}/api/events/${pressId}/snapshot`, { headers })
    expect(jpeg.status).toBe(200)
    expect(jpeg.headers.get('content-type')).toBe('image/jpeg')
    expect(
      Buffer.from(await jpeg.arrayBuffer())
        .subarray(0, 2)
        .equals(Buffer.from([0xff, 0xd8])),
    ).toBe(true)

    await eventually(
      async () => (await eventsOfType(c, 'sound.level')).length > 0,
      'sound levels stored',
      20_000,
    )
    await eventually(
      async () =>
        (await eventsOfType(c, 'health')).some((e) => e.type === 'health' && e.payload.media !== undefined),
      'health with media counters',
      20_000,
    )

    const before = (await eventsOfType(c, 'snapshot')).length
    await c.sendCommand('front-door', { name: 'snapshot' })
    await eventually(
      async () => (await eventsOfType(c, 'snapshot')).length > before,
      'snapshot on command',
      20_000,
    )
  }, 60_000)

  it('resumes a clip upload cut mid-way and the collector ends with a byte-identical file', async () => {
    const { dir, secret, collector: c } = await setup('media-cut')
    proxy = await startShapedProxy(c.mqttPort, 64 * KiB)
    const link = proxy
    agent = await startAgentProcess(await writeAgentConfig(dir, link.url, secret, { videoBitrateKbps: 800 }))
    await new Promise((resolve) => setTimeout(resolve, 2500))
    const press = await agent.post('/button/press')
    const manifest = await manifestFor(c, String(press.body.id))
    await eventually(
      async () => (await c.store.listChunkIndexes(manifest.clipId)).length >= 3,
      'upload under way',
      20_000,
    )
    expect(manifest.chunkCount).toBeGreaterThan(6)
    link.cut()
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect((await c.store.getClip(manifest.clipId))?.state).not.toBe('complete')
    link.heal()
    const path = await clipComplete(c, manifest.clipId)
    expect(sha256Of(path)).toBe(manifest.sha256)
    expect(sha256Of(path)).toBe(sha256Of(join(dir, 'agent', 'clips', `${manifest.clipId}.mp4`)))
  }, 90_000)

  it('after a kill -9 mid-upload the restarted agent sends only the chunks not yet acknowledged', async () => {
    const { dir, secret, collector: c } = await setup('media-restart')
    proxy = await startShapedProxy(c.mqttPort, 64 * KiB)
    const link = proxy
    const configFile = await writeAgentConfig(dir, link.url, secret, { videoBitrateKbps: 800 })
    agent = await startAgentProcess(configFile)
    await new Promise((resolve) => setTimeout(resolve, 2500))
    const press = await agent.post('/button/press')
    const manifest = await manifestFor(c, String(press.body.id))
    await eventually(
      async () => (await c.store.listChunkIndexes(manifest.clipId)).length >= manifest.chunkCount / 2,
      'half the clip uploaded',
      20_000,
    )
    await agent.kill9()
    const storedBeforeRestart = (await c.store.listChunkIndexes(manifest.clipId)).length
    const bytesBeforeRestart = link.forwardedBytes

    agent = await startAgentProcess(configFile)
    const path = await clipComplete(c, manifest.clipId)
    expect(sha256Of(path)).toBe(manifest.sha256)
    // Every chunk stored once; the second life sent the missing chunks plus at most the one in flight.
    expect(await metric(c, 'doorbell_collector_chunks_stored_total')).toBe(manifest.chunkCount)
    const missing = manifest.chunkCount - storedBeforeRestart
    const chunkBytesSecondLife = link.forwardedBytes - bytesBeforeRestart
    expect(chunkBytesSecondLife).toBeLessThan((missing + 2) * manifest.chunkBytes + 64 * KiB)
    expect(chunkBytesSecondLife).toBeLessThan(manifest.bytes)
  }, 90_000)
})
