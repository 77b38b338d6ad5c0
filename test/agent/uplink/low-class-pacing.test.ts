import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { decodeChunk, topics } from '../../../shared/protocol/index.js'
import { metric, tempDir } from '../../collector/collector-harness.js'
import { eventually } from '../../support/eventually.js'
import { collectorWithMediaAgent, enqueueRandomClip, startMediaAgent } from '../support/media-agent.js'

const KiB = 1024

function sha256Of(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex')
}

/** The agent's clip upload against the real collector over real MQTT on loopback. */
describe('clip upload pacing and priority', () => {
  const rig = collectorWithMediaAgent()
  const setup = (name: string, media: Parameters<typeof startMediaAgent>[0]['media'] = {}) =>
    rig.start(name, { media })

  it('sends a press at once while a large clip uploads, and its ack comes before the clip finishes', async () => {
    const { agent: running, hardware, collector: c } = await setup('pacing')
    const clip = await enqueueRandomClip(running, 4 * 1024 * KiB)
    await eventually(
      async () => (await c.store.listChunkIndexes(clip.clipId)).length >= 10,
      'upload under way',
      20_000,
    )

    const latenciesMs: number[] = []
    for (let i = 0; i < 5; i++) {
      const recorded = new Promise<string>((resolve) =>
        running.once('recorded', (e) => e.type === 'button.press' && resolve(e.id)),
      )
      const startMs = performance.now()
      hardware.button.pulse(20)
      const id = await recorded
      await eventually(async () => Boolean(await c.store.getEvent(id)), 'press stored', 5_000)
      latenciesMs.push(performance.now() - startMs)
      // The ack reached the agent: the press left its outbox.
      await eventually(() => running.outbox.depth().count.high === 0, 'press acked', 5_000)
      const clipRecord = await c.store.getClip(clip.clipId)
      expect(clipRecord?.state).not.toBe('complete')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    // Generous bound on loopback: a press must never wait behind the clip's megabytes.
    expect(Math.max(...latenciesMs)).toBeLessThan(1_000)

    const done = await eventually(
      async () => (await c.store.getClip(clip.clipId))?.state === 'complete',
      'clip complete',
      60_000,
    )
    expect(done).toBe(true)
    const path = await c.clips.clipFile('front-door', clip.clipId)
    expect(path && sha256Of(path)).toBe(clip.sha256)
  }, 90_000)

  it('never has more than the byte window of chunks unacknowledged', async () => {
    const { agent: running, collector: c } = await setup('window', {
      upload: { maxInFlightChunks: 8, maxInFlightBytes: 32 * KiB },
    })
    const media = running.media
    if (!media) throw new Error('no media')
    let maxInFlightBytes = 0
    running.sender.on('sent', (eventClass) => {
      if (eventClass === 'low') maxInFlightBytes = Math.max(maxInFlightBytes, media.uploads.inFlightBytes)
    })
    const clip = await enqueueRandomClip(running, 600 * KiB)
    await eventually(
      async () => (await c.store.getClip(clip.clipId))?.state === 'complete',
      'clip complete',
      30_000,
    )
    expect(maxInFlightBytes).toBeGreaterThan(0)
    expect(maxInFlightBytes).toBeLessThanOrEqual(32 * KiB)
  }, 40_000)

  it('sends a corrupted chunk again after the collector rejects it, and the clip matches', async () => {
    const { agent: running, collector: c } = await setup('corrupt')
    const chunkTopic = topics.chunk('front-door')
    const original = running.uplink.publish.bind(running.uplink)
    let corruptedIndex: number | undefined
    running.uplink.publish = (topic: string, payload: Buffer) => {
      if (topic === chunkTopic && corruptedIndex === undefined) {
        const { envelope } = decodeChunk(payload)
        if (envelope.payload.index === 2) {
          corruptedIndex = 2
          const bad = Buffer.from(payload)
          bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0xff // a bit flip on the way
          return original(topic, bad)
        }
      }
      return original(topic, payload)
    }
    const rejected: string[] = []
    running.sender.on('rejected', (_id, code) => rejected.push(code))
    const clip = await enqueueRandomClip(running, 100 * KiB)
    await eventually(
      async () => (await c.store.getClip(clip.clipId))?.state === 'complete',
      'clip complete',
      30_000,
    )
    expect(corruptedIndex).toBe(2)
    expect(rejected.length).toBe(1)
    expect(await metric(c, 'doorbell_collector_rejections_total', 'reason="chunk_crc"')).toBe(1)
    const path = await c.clips.clipFile('front-door', clip.clipId)
    expect(path && sha256Of(path)).toBe(clip.sha256)
  }, 40_000)

  it('keeps clips on the Pi within the hard bound when the collector is away', async () => {
    const dir = tempDir('bound')
    rig.cleanup = dir.cleanup
    const started = await startMediaAgent({
      url: 'mqtt://127.0.0.1:1', // nothing listens: the uploads cannot finish
      secret: 'x'.repeat(20),
      dataDir: join(dir.path, 'agent'),
      media: { clips: { maxBytes: 1024 * KiB, hardMaxBytes: 2048 * KiB } },
    })
    rig.agent = started.agent
    const evicted: boolean[] = []
    started.agent.on('clipEvicted', (e) => evicted.push(e.wasUploaded))
    for (let i = 0; i < 5; i++) await enqueueRandomClip(started.agent, 700 * KiB)
    const clipsDir = started.agent.media?.service.store.dir ?? ''
    const bytes = readdirSync(clipsDir)
      .filter((name) => name.endsWith('.mp4'))
      .reduce((sum, name) => sum + statSync(join(clipsDir, name)).size, 0)
    expect(bytes).toBeLessThanOrEqual(2048 * KiB)
    expect(evicted.length).toBeGreaterThanOrEqual(3)
    expect(evicted.every((wasUploaded) => !wasUploaded)).toBe(true)
  })
})
