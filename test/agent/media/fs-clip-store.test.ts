import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { RecordedClip } from '../../../agent/media/clip-recorder.js'
import { type ClipEviction, FsClipStore } from '../../../agent/media/fs-clip-store.js'
import { newEventId } from '../../../shared/protocol/index.js'

const KiB = 1024
let dir: string
let evictions: ClipEviction[]

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'doorbell-clips-'))
  evictions = []
})

afterEach(() => rmSync(dir, { recursive: true, force: true }))

function newStore(): FsClipStore {
  return new FsClipStore({
    dir,
    maxBytes: 1024 * KiB,
    hardMaxBytes: 2048 * KiB,
    chunkBytes: 64 * KiB,
    onEvicted: (e) => evictions.push(e),
  })
}

/** Writes a clip file as the recorder would and returns its description. */
function writeClip(bytes: number, startedAtMs: number): RecordedClip {
  const clipId = newEventId(startedAtMs)
  const path = join(dir, `${clipId}.mp4`)
  writeFileSync(path, randomBytes(bytes))
  return {
    clipId,
    path,
    bytes,
    startedAtMs,
    durationMs: 10_000,
    prerollMs: 3000,
    hasAudio: false,
    triggerAtMs: startedAtMs + 3000,
  }
}

function bytesOnDisk(): number {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.mp4'))
    .reduce((sum, n) => sum + statSync(join(dir, n)).size, 0)
}

async function uploadAll(store: FsClipStore, clipId: string): Promise<void> {
  const upload = store.get(clipId)?.upload
  if (!upload) throw new Error(`no clip ${clipId}`)
  for (let i = 0; i < upload.chunkCount; i += 1) await upload.markAcked(i)
  await upload.markManifestAcked()
}

/** An open store holding `count` clips of `bytes` each, a second apart, oldest first. */
async function storeWithClips(count: number, bytes: number): Promise<{ store: FsClipStore; ids: string[] }> {
  const store = newStore()
  await store.open()
  const t0 = Date.now() - 60_000
  const ids: string[] = []
  for (let i = 0; i < count; i += 1)
    ids.push((await store.add(writeClip(bytes, t0 + i * 1000)))?.stored.clipId as string)
  return { store, ids }
}

describe('FsClipStore', () => {
  it('never exceeds the hard bound, evicting the oldest clip when nothing has been uploaded', async () => {
    const store = newStore()
    await store.open()
    const t0 = Date.now() - 60_000
    const ids: string[] = []
    for (let i = 0; i < 8; i += 1) {
      const added = await store.add(writeClip(400 * KiB, t0 + i * 1000))
      ids.push(added?.stored.clipId as string)
      expect(bytesOnDisk()).toBeLessThanOrEqual(2048 * KiB)
      expect(store.totalBytes()).toBe(bytesOnDisk())
    }
    expect(evictions.map((e) => e.clipId)).toEqual(ids.slice(0, 3))
    expect(evictions.every((e) => !e.wasUploaded)).toBe(true)
  })

  it('evicts uploaded clips first, oldest first, down to the soft bound', async () => {
    const { store, ids } = await storeWithClips(4, 400 * KiB)
    expect(evictions).toEqual([]) // 1600 KiB: over the soft bound, but nothing is uploaded yet
    await uploadAll(store, ids[1] as string)
    await uploadAll(store, ids[3] as string)
    store.enforceBounds()
    // The oldest uploaded clip goes first; the older clip still uploading stays.
    expect(evictions.map((e) => e.clipId)).toEqual([ids[1], ids[3]])
    expect(store.list().map((c) => c.clipId)).toEqual([ids[0], ids[2]])
    expect(store.totalBytes()).toBeLessThanOrEqual(1024 * KiB)
  })

  it('evicts clips the collector verified before clips only uploaded, which go last but still go', async () => {
    const { store, ids } = await storeWithClips(4, 400 * KiB)
    for (const id of ids.slice(0, 3)) await uploadAll(store, id)
    await store.get(ids[2] as string)?.upload.markVerified()
    store.enforceBounds()
    // 1600 KiB over a 1024 KiB bound: the verified clip goes first although it is the newest uploaded,
    // then the oldest uploaded one the collector has not verified yet.
    expect(evictions.map((e) => [e.clipId, e.wasVerified])).toEqual([
      [ids[2], true],
      [ids[0], false],
    ])
    expect(store.list().map((c) => c.clipId)).toEqual([ids[1], ids[3]])
  })

  it('keeps clips and their upload progress across a restart, dropping half-written files', async () => {
    const store = newStore()
    await store.open()
    const added = await store.add(writeClip(300 * KiB, Date.now() - 5000))
    await added?.stored.upload.markAcked(0)
    writeFileSync(join(dir, `${newEventId()}.part.mp4`), 'half')
    const reopened = newStore()
    await reopened.open()
    expect(reopened.list().map((c) => c.clipId)).toEqual([added?.stored.clipId])
    expect(reopened.list()[0]?.upload.ackedCount).toBe(1)
    expect(reopened.list()[0]?.upload.nextChunk()?.index).toBe(1)
    expect(reopened.list()[0]?.upload.manifest?.clipId).toBe(added?.stored.clipId)
    expect(readdirSync(dir).some((n) => n.endsWith('.part.mp4'))).toBe(false)
  })

  it('plans the upload again from chunk 0 when the state file is torn', async () => {
    const store = newStore()
    await store.open()
    const added = await store.add(writeClip(200 * KiB, Date.now() - 5000))
    writeFileSync(added?.stored.upload.path as string, '{')
    const reopened = newStore()
    await reopened.open()
    expect(reopened.list()[0]?.upload.ackedCount).toBe(0)
    expect(reopened.list()[0]?.upload.chunkCount).toBe(4)
  })

  it('drops a single clip larger than the hard bound', async () => {
    const store = newStore()
    await store.open()
    expect(await store.add(writeClip(2100 * KiB, Date.now()))).toBeUndefined()
    expect(bytesOnDisk()).toBe(0)
  })
})
