import { join } from 'node:path'
import { Level } from 'level'
import { describe, expect, it } from 'vitest'
import { withClipState } from '../../../collector/store/clip-record.js'
import { clipKey, resendKey } from '../../../collector/store/level-event-keys.js'
import { LevelEventStore } from '../../../collector/store/level-event-store.js'
import { tempDir } from '../collector-harness.js'
import { baseMs, clipAt } from './contracts/event-fixtures.js'
import { eventStoreContract } from './contracts/event-store.contract.js'

const dir = tempDir('level-event-store')
let current = ''
let opened = 0

eventStoreContract('level', {
  async create() {
    opened += 1
    current = join(dir.path, `store-${opened}`)
    return LevelEventStore.open({ path: current, isSyncWrite: false })
  },
  async reopen() {
    return LevelEventStore.open({ path: current, isSyncWrite: false })
  },
  async close() {
    dir.cleanup()
  },
})

describe('LevelEventStore: records written by earlier versions', () => {
  /** Writes raw keys as an earlier version left them, then opens the store over them. */
  async function storeWith(entries: Record<string, string>): Promise<LevelEventStore> {
    opened += 1
    const path = join(dir.path, `legacy-${opened}`)
    const db = new Level<string, string>(path, { valueEncoding: 'utf8' })
    for (const [key, value] of Object.entries(entries)) await db.put(key, value)
    await db.close()
    return LevelEventStore.open({ path, isSyncWrite: false })
  }

  /** A clip record in the shape with four booleans. */
  function legacyRecord(clip: ReturnType<typeof clipAt>, flags: Record<string, unknown>): string {
    if (clip.manifest.type !== 'clip.manifest') throw new Error('not a manifest')
    return JSON.stringify({
      clipId: clip.clipId,
      deviceId: 'front',
      manifestId: clip.manifest.id,
      manifest: clip.manifest.payload,
      ...flags,
    })
  }

  it('reads each combination the boolean clip record had as its state', async () => {
    const clips = [0, 1, 2, 3, 4].map((i) => clipAt('front', baseMs + i * 60_000, 1))
    const [receiving, waiting, complete, corrupt, gone] = clips as [
      (typeof clips)[0],
      (typeof clips)[0],
      (typeof clips)[0],
      (typeof clips)[0],
      (typeof clips)[0],
    ]
    const store = await storeWith({
      [clipKey(receiving.clipId)]: legacyRecord(receiving, { isComplete: false }),
      [clipKey(waiting.clipId)]: legacyRecord(waiting, {
        isComplete: false,
        isAwaitingResend: true,
        resendCount: 2,
      }),
      [resendKey('front', waiting.clipId)]: '',
      [clipKey(complete.clipId)]: legacyRecord(complete, {
        isComplete: true,
        isAwaitingResend: false,
        resendCount: 1,
      }),
      [clipKey(corrupt.clipId)]: legacyRecord(corrupt, {
        isComplete: false,
        isAwaitingResend: false,
        isCorrupt: true,
        resendCount: 3,
      }),
      [clipKey(gone.clipId)]: legacyRecord(gone, {
        isComplete: false,
        isAwaitingResend: false,
        isCorrupt: true,
        isGoneFromDevice: true,
        resendCount: 1,
      }),
    })
    try {
      expect(await store.getClip(receiving.clipId)).toMatchObject({ state: 'receiving', resendCount: 0 })
      expect(await store.getClip(complete.clipId)).toMatchObject({ state: 'complete', resendCount: 1 })
      expect(await store.getClip(corrupt.clipId)).toMatchObject({
        state: 'corrupt',
        corruptReason: 'check-failed',
        resendCount: 3,
      })
      expect(await store.getClip(gone.clipId)).toMatchObject({
        state: 'corrupt',
        corruptReason: 'gone-from-device',
      })
      const listed = await store.listClipsAwaitingResend('front')
      expect(listed).toEqual([
        {
          clipId: waiting.clipId,
          deviceId: 'front',
          manifestId: waiting.manifest.id,
          manifest: waiting.manifest.type === 'clip.manifest' ? waiting.manifest.payload : undefined,
          resendCount: 2,
          state: 'awaiting-resend',
        },
      ])
      // Saved again, a converted record is written in the current shape and stays readable.
      await store.saveClip(withClipState(listed[0] as (typeof listed)[0], { state: 'complete' }))
      expect(await store.getClip(waiting.clipId)).toMatchObject({ state: 'complete', resendCount: 2 })
      expect(await store.listClipsAwaitingResend('front')).toEqual([])
    } finally {
      await store.close()
    }
  })
})
