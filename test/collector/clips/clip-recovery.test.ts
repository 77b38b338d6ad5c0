import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ClipRecovery, type ClipResendReport } from '../../../collector/clips/clip-recovery.js'
import type { ClipManifest } from '../../../collector/clips/clip-store.js'
import { FileClipStore } from '../../../collector/clips/file-clip-store.js'
import { LevelEventStore } from '../../../collector/store/level-event-store.js'
import { createEnvelope, newEventId, type PayloadInputOf } from '../../../shared/protocol/index.js'
import { tempDir } from '../collector-harness.js'

const chunkBytes = 1024

describe('ClipRecovery', () => {
  let dir: ReturnType<typeof tempDir>
  let store: LevelEventStore
  let clips: FileClipStore
  let commands: { deviceId: string; payload: PayloadInputOf<'command'> }[]
  let reports: ClipResendReport[]
  let recovery: ClipRecovery

  beforeEach(async () => {
    dir = tempDir('clip-recovery')
    store = await LevelEventStore.open({ path: join(dir.path, 'events'), isSyncWrite: false })
    clips = new FileClipStore(dir.path)
    commands = []
    reports = []
    recovery = new ClipRecovery({
      store,
      clips,
      maxResends: 3,
      sendCommand: async (deviceId, payload) => commands.push({ deviceId, payload }),
      onReport: (report) => reports.push(report),
    })
  })

  afterEach(async () => {
    await store.close()
    dir.cleanup()
  })

  /** Stores a clip's manifest and every chunk, the body differing from what the manifest's sha256 says. */
  async function storeCorruptClip(deviceId = 'porch'): Promise<string> {
    const body = randomBytes(3 * chunkBytes)
    const clipId = newEventId()
    const manifest: ClipManifest = {
      clipId,
      contentType: 'video/mp4',
      startedAt: new Date().toISOString(),
      durationMs: 1000,
      prerollMs: 0,
      hasAudio: false,
      bytes: body.length,
      sha256: createHash('sha256').update('another body').digest('hex'),
      chunkBytes,
      chunkCount: 3,
    }
    const chunks = [0, 1, 2].map((index) => ({ id: newEventId(), deviceId, clipId, index, size: chunkBytes }))
    for (const chunk of chunks) {
      const offset = chunk.index * chunkBytes
      await clips.writeChunk(deviceId, clipId, offset, body.subarray(offset, offset + chunkBytes))
    }
    const manifestEvent = createEnvelope({ deviceId, seq: 1, type: 'clip.manifest', payload: manifest })
    await store.commit({ events: [{ ...manifestEvent, receivedAtMs: Date.now() }], chunks })
    return clipId
  }

  it('reaches one verdict when two commits finish the same clip at once', async () => {
    const clipId = await storeCorruptClip()
    const verdicts = await Promise.all([recovery.check('porch', clipId), recovery.check('porch', clipId)])
    expect(verdicts).toEqual(['corrupt', undefined])
    expect(commands).toEqual([
      { deviceId: 'porch', payload: { name: 'clip.resend', args: { clipId, attempt: 1 } } },
    ])
    expect(await store.getClip(clipId)).toMatchObject({ state: 'awaiting-resend', resendCount: 1 })
    expect(await store.listChunkIndexes(clipId)).toEqual([])
  })

  it('asks again with the same attempt when the device comes online, only for clips still waiting', async () => {
    const waiting = await storeCorruptClip()
    await recovery.check('porch', waiting)
    const other = await storeCorruptClip('back-door')
    await recovery.check('back-door', other)
    await recovery.unavailable('back-door', { clipId: other, attempt: 1 })
    commands.length = 0
    await recovery.deviceOnline('porch')
    await recovery.deviceOnline('back-door')
    expect(commands).toEqual([
      { deviceId: 'porch', payload: { name: 'clip.resend', args: { clipId: waiting, attempt: 1 } } },
    ])
    expect(reports.map((r) => r.outcome)).toEqual(['requested', 'requested', 'unavailable', 'repeated'])
  })

  it('ignores a clip.unavailable for a clip it is not waiting for, or from another device', async () => {
    const clipId = await storeCorruptClip()
    await recovery.unavailable('porch', { clipId, attempt: 1 })
    await recovery.check('porch', clipId)
    await recovery.unavailable('back-door', { clipId, attempt: 1 })
    expect(await store.getClip(clipId)).toMatchObject({ state: 'awaiting-resend' })
    expect(reports.map((r) => r.outcome)).toEqual(['requested'])
  })
})
