import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { RunningAgent } from '../../agent/agent.js'
import type { ClipResendReport } from '../../agent/media/agent-media.js'
import type { ClipManifest, ClipStore } from '../../collector/clips/clip-store.js'
import { FileClipStore } from '../../collector/clips/file-clip-store.js'
import type { CollectorEvent, RunningCollector } from '../../collector/main.js'
import type { ClipRecord } from '../../collector/store/event-store.js'
import { collectorWithMediaAgent, enqueueRandomClip } from '../agent/support/media-agent.js'
import { metric, startCollector, testConfig } from '../collector/collector-harness.js'
import { eventually } from '../support/eventually.js'

/**
 * Clip recovery end to end: the real collector and the agent's real upload path (MQTT uplink, Level
 * outbox, clip files) with a clip store whose reassembled file gets a flipped byte before its check.
 */

const KiB = 1024

function sha256Of(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex')
}

/**
 * The real file clip store, except that the first `times` whole-file checks find one byte of the
 * reassembled `.part` flipped on disk (after every chunk was committed, before the check), as a bad
 * sector or a bug in reassembly would. `beforeCheck` runs just before such a corrupted check.
 */
function corruptingClipStore(
  dataDir: string,
  times: number,
  beforeCheck: (clipId: string) => Promise<void> = async () => {},
): ClipStore & { corrupted: number } {
  const real = new FileClipStore(dataDir)
  const store = {
    corrupted: 0,
    writeChunk: real.writeChunk.bind(real),
    clipFile: real.clipFile.bind(real),
    deleteClip: real.deleteClip.bind(real),
    async finalize(deviceId: string, manifest: ClipManifest) {
      if (store.corrupted < times) {
        store.corrupted += 1
        const part = join(dataDir, 'clips', deviceId, `${manifest.clipId}.part`)
        const bytes = readFileSync(part)
        bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0xff
        writeFileSync(part, bytes)
        await beforeCheck(manifest.clipId)
      }
      return real.finalize(deviceId, manifest)
    },
  }
  return store
}

describe('clip recovery after a failed whole-file check', () => {
  const rig = collectorWithMediaAgent()

  async function setup(
    name: string,
    clipStore: (collectorDir: string) => ClipStore,
    limits: { maxClipResends?: number } = {},
  ) {
    const events: CollectorEvent[] = []
    const resends: ClipResendReport[] = []
    const started = await rig.start(name, {
      config: { limits },
      deps: (collectorDir) => ({
        stores: { clips: clipStore(collectorDir) },
        onEvent: (e) => events.push(e),
      }),
    })
    const listen = (agent: RunningAgent) => agent.on('clipResend', (report) => resends.push(report))
    listen(started.agent)
    const startAgent = async (on: RunningCollector) => listen(await started.startAgent(on))
    return { ...started, events, resends, startAgent }
  }

  /** The collector's record of a clip once `isDone` holds for it. */
  function clipRecordOnce(
    c: RunningCollector,
    clipId: string,
    isDone: (r: ClipRecord) => unknown,
    what: string,
  ) {
    return eventually(
      async () => {
        const found = await c.store.getClip(clipId)
        return found && isDone(found) ? found : undefined
      },
      what,
      20_000,
    )
  }

  /** The agent's current envelope id for every chunk of a clip. */
  /** The store key of one of the agent's chunks. */
  const chunkKeyOf = (id: string) => ({ deviceId: 'front-door', id })

  function chunkIdsOf(running: RunningAgent, clipId: string): string[] {
    const upload = running.media?.service.store.get(clipId)?.upload
    if (!upload) throw new Error(`the agent holds no clip ${clipId}`)
    return Array.from({ length: upload.chunkCount }, (_, i) => upload.chunkId(i))
  }

  it('asks the agent again, which resends the clip: byte-identical, verified, nothing stored twice', async () => {
    const { collector: c, agent: running, resends } = await setup('resend', (d) => corruptingClipStore(d, 1))
    const clip = await enqueueRandomClip(running, 100 * KiB)
    const firstIds = chunkIdsOf(running, clip.clipId)
    const record = await clipRecordOnce(
      c,
      clip.clipId,
      (r) => r.state === 'complete',
      'the clip verified after its resend',
    )
    expect(record).toMatchObject({ state: 'complete', resendCount: 1 })
    expect(resends).toEqual([{ clipId: clip.clipId, attempt: 1, outcome: 'resending' }])

    const path = await c.clips.clipFile('front-door', clip.clipId)
    expect(path && sha256Of(path)).toBe(clip.sha256)
    const agentClip = running.media?.service.store.get(clip.clipId)?.path as string
    expect(sha256Of(agentClip)).toBe(clip.sha256)

    // The first upload's receipts were forgotten; the resent chunks are stored once each.
    const finalIds = chunkIdsOf(running, clip.clipId)
    expect((await c.store.findExisting([], firstIds.map(chunkKeyOf))).size).toBe(0)
    expect((await c.store.findExisting([], finalIds.map(chunkKeyOf))).size).toBe(clip.chunkCount)
    expect(await c.store.listChunkIndexes(clip.clipId)).toEqual([...Array(clip.chunkCount).keys()])
    expect(await metric(c, 'doorbell_collector_chunks_stored_total')).toBe(2 * clip.chunkCount)
    const events = (await c.store.queryEvents({ deviceId: 'front-door', limit: 1000 })).items
    expect(events.filter((e) => e.type === 'clip.manifest')).toHaveLength(1)
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length)
    expect(await metric(c, 'doorbell_collector_clip_resends_total', 'outcome="requested"')).toBe(1)
    expect(await metric(c, 'doorbell_collector_clip_resends_total', 'outcome="recovered"')).toBe(1)

    // Only now may the agent treat the clip as safe to evict.
    await eventually(
      () => running.media?.service.store.get(clip.clipId)?.upload.isVerified,
      'the agent told the clip is verified',
      5_000,
    )
  })

  it('gives up after limits.maxClipResends requests: the clip stays corrupt and that is reported', async () => {
    const {
      collector: c,
      agent: running,
      events,
      resends,
    } = await setup('resend-bounded', (d) => corruptingClipStore(d, Number.POSITIVE_INFINITY), {
      maxClipResends: 2,
    })
    const clip = await enqueueRandomClip(running, 64 * KiB)
    const record = await clipRecordOnce(c, clip.clipId, (r) => r.state === 'corrupt', 'the clip given up')
    expect(record).toMatchObject({ state: 'corrupt', corruptReason: 'check-failed', resendCount: 2 })
    await c.flush()
    expect(resends.map((r) => [r.attempt, r.outcome])).toEqual([
      [1, 'resending'],
      [2, 'resending'],
    ])
    expect(events).toContainEqual({
      kind: 'clip_resend',
      deviceId: 'front-door',
      clipId: clip.clipId,
      attempt: 2,
      outcome: 'exhausted',
    })
    expect(await metric(c, 'doorbell_collector_clip_resends_total', 'outcome="requested"')).toBe(2)
    expect(await metric(c, 'doorbell_collector_clip_resends_total', 'outcome="exhausted"')).toBe(1)
    expect(await c.clips.clipFile('front-door', clip.clipId)).toBeUndefined()
  })

  it('stops asking once the agent reports it no longer holds the clip', async () => {
    const {
      collector: c,
      events,
      resends,
      agent: started,
    } = await setup('resend-gone', (d) =>
      // The Pi evicted the clip between its last ack and the collector's check.
      corruptingClipStore(d, 1, async (clipId) => rig.agent?.media?.service.store.remove(clipId)),
    )
    const clip = await enqueueRandomClip(started, 64 * KiB)
    const record = await clipRecordOnce(c, clip.clipId, (r) => r.state === 'corrupt', 'the clip given up')
    expect(record).toMatchObject({ state: 'corrupt', corruptReason: 'gone-from-device', resendCount: 1 })
    expect(resends).toEqual([{ clipId: clip.clipId, attempt: 1, outcome: 'unavailable' }])
    expect(started.media?.resendCounts.unavailable).toBe(1)
    const answers = await c.store.queryEvents({ deviceId: 'front-door', type: 'clip.unavailable' })
    expect(answers.items.map((e) => e.payload)).toEqual([{ clipId: clip.clipId, attempt: 1 }])
    expect(
      events.filter((e) => e.kind === 'clip_resend').map((e) => e.kind === 'clip_resend' && e.outcome),
    ).toEqual(['requested', 'unavailable'])
    expect(await metric(c, 'doorbell_collector_clip_resends_total', 'outcome="unavailable"')).toBe(1)
  })

  it('asks again when the device reconnects, even after a collector restart lost the queued command', async () => {
    const {
      collector: first,
      collectorDir,
      agent: running,
      startAgent,
    } = await setup('resend-offline', (d) =>
      // The device goes away just before the check, so the request can only be queued for it.
      corruptingClipStore(d, 1, async () => {
        await rig.agent?.close()
        rig.agent = undefined
      }),
    )
    const clip = await enqueueRandomClip(running, 64 * KiB)
    await clipRecordOnce(
      first,
      clip.clipId,
      (r) => r.state === 'awaiting-resend',
      'the clip awaiting its resend',
    )
    await first.close()
    // The queued command lived in the broker's memory only; the restarted collector has just the record.
    const second = await startCollector(testConfig(collectorDir))
    rig.collector = second
    await startAgent(second)
    await clipRecordOnce(
      second,
      clip.clipId,
      (r) => r.state === 'complete',
      'the clip verified after the reconnect',
    )
    const path = await second.clips.clipFile('front-door', clip.clipId)
    expect(path && sha256Of(path)).toBe(clip.sha256)
    expect(await metric(second, 'doorbell_collector_clip_resends_total', 'outcome="repeated"')).toBe(1)
    expect(await metric(second, 'doorbell_collector_clip_resends_total', 'outcome="recovered"')).toBe(1)
  })
})
