import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { ClipManifest } from '../../../collector/clips/clip-store.js'
import { maxClipBytes } from '../../../collector/clips/file-clip-store.js'
import { PostgresClipStore } from '../../../collector/postgres/postgres-clip-store.js'
import { PostgresEventStore } from '../../../collector/postgres/postgres-event-store.js'
import { tempDir } from '../collector-harness.js'
import { clipStoreContract } from '../store/contracts/clip-store.contract.js'
import { baseMs, clipAt, DAY_MS } from '../store/contracts/event-fixtures.js'
import { usePostgresSuite } from './postgres-suite.js'

const suite = usePostgresSuite()
const dirs = tempDir('pg-clip-store')
afterAll(() => dirs.cleanup())
let made = 0
/** Each store gets a data folder of its own, as each node of a fleet has. */
const nodeDir = () => join(dirs.path, `node-${++made}`)

let currentUrl = ''
clipStoreContract('postgres', {
  async create() {
    currentUrl = await suite.freshDatabase()
    return new PostgresClipStore(await suite.connect(currentUrl), nodeDir())
  },
  // Another node's store (its own data folder) over the same database.
  async reopen() {
    return new PostgresClipStore(await suite.connect(currentUrl), nodeDir())
  },
})

/** A clip body of chunkCount chunks of chunkBytes and its manifest. */
function clipBody(chunkCount: number, chunkBytes = 64 * 1024) {
  const body = randomBytes(chunkCount * chunkBytes - 123)
  const manifest: ClipManifest = {
    clipId: '01J00000000000000000000000',
    contentType: 'video/mp4',
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 1000,
    prerollMs: 0,
    hasAudio: false,
    bytes: body.length,
    sha256: createHash('sha256').update(body).digest('hex'),
    chunkBytes,
    chunkCount,
  }
  const chunks = Array.from({ length: chunkCount }, (_, i) => ({
    offset: i * chunkBytes,
    data: body.subarray(i * chunkBytes, (i + 1) * chunkBytes),
  }))
  return { body, manifest, chunks }
}

describe('PostgresClipStore across nodes', () => {
  it('reassembles a clip whose chunks reached two nodes, once, and serves it from either', async () => {
    const url = await suite.freshDatabase()
    const [a, b] = [
      new PostgresClipStore(await suite.connect(url), nodeDir()),
      new PostgresClipStore(await suite.connect(url), nodeDir()),
    ]
    const { body, manifest, chunks } = clipBody(40)
    for (const chunk of chunks.slice(0, 17))
      await a.writeChunk('porch', manifest.clipId, chunk.offset, chunk.data)
    await Promise.all(
      chunks.slice(17).map((chunk) => b.writeChunk('porch', manifest.clipId, chunk.offset, chunk.data)),
    )
    // Both nodes check at once (each saw the clip's last pieces): one verdict, one body.
    expect(await Promise.all([a.finalize('porch', manifest), b.finalize('porch', manifest)])).toEqual([
      'complete',
      'complete',
    ])
    const db = await suite.connect(url)
    expect((await db.query('SELECT count(*)::int AS n FROM clip_bodies')).rows).toEqual([{ n: 1 }])
    expect(await readFile((await a.clipFile('porch', manifest.clipId)) as string)).toEqual(body)
    expect(await readFile((await b.clipFile('porch', manifest.clipId)) as string)).toEqual(body)
  })

  it('answers corrupt when a chunk is missing in the middle, even when the size adds up elsewhere', async () => {
    const url = await suite.freshDatabase()
    const store = new PostgresClipStore(await suite.connect(url), nodeDir())
    const { manifest, chunks } = clipBody(3, 1000)
    await store.writeChunk('porch', manifest.clipId, 0, chunks[0]?.data as Buffer)
    await store.writeChunk('porch', manifest.clipId, 2000, chunks[2]?.data as Buffer)
    // Same total size as the clip, but at the wrong place: a gap at 1000.
    await store.writeChunk('porch', manifest.clipId, 3000, randomBytes(1000))
    expect(await store.finalize('porch', manifest)).toBe('corrupt')
  })

  it('refuses a chunk that would make the clip larger than maxClipBytes', async () => {
    const store = new PostgresClipStore(await suite.connect(await suite.freshDatabase()), nodeDir())
    await expect(
      store.writeChunk('porch', '01J00000000000000000000000', maxClipBytes, Buffer.alloc(1)),
    ).rejects.toThrow(RangeError)
  })

  it("takes an expired clip's body along with its record, and drops other nodes' copies when asked for it", async () => {
    const url = await suite.freshDatabase()
    const events = new PostgresEventStore(await suite.connect(url))
    const [a, b] = [
      new PostgresClipStore(await suite.connect(url), nodeDir()),
      new PostgresClipStore(await suite.connect(url), nodeDir()),
    ]
    const old = clipAt('porch', baseMs, 1)
    await events.commit({ events: [old.manifest], chunks: old.chunks })
    const { manifest, chunks } = clipBody(1, 1000)
    const oldManifest = { ...manifest, clipId: old.clipId }
    await a.writeChunk('porch', old.clipId, 0, chunks[0]?.data as Buffer)
    expect(await a.finalize('porch', oldManifest)).toBe('complete')
    const copyOnB = (await b.clipFile('porch', old.clipId)) as string
    expect(existsSync(copyOnB)).toBe(true)
    const result = await events.sweepRetention(baseMs + 40 * DAY_MS, { high: 0, medium: 0, low: 30 * DAY_MS })
    expect(result.expiredClips).toEqual([{ deviceId: 'porch', clipId: old.clipId }])
    const db = await suite.connect(url)
    const left = await db.query(
      'SELECT (SELECT count(*) FROM clip_chunks)::int AS chunks, (SELECT count(*) FROM clip_bodies)::int AS bodies',
    )
    expect(left.rows).toEqual([{ chunks: 0, bodies: 0 }])
    expect(await b.clipFile('porch', old.clipId)).toBeUndefined()
    expect(existsSync(copyOnB)).toBe(false)
  })

  it('refuses a chunk with POSTGRES_UNAVAILABLE while the database is down, and stores it once it is back', async () => {
    const url = await suite.freshDatabase()
    const store = new PostgresClipStore(await suite.connect(url), nodeDir())
    const { body, manifest, chunks } = clipBody(2, 1000)
    await store.writeChunk('porch', manifest.clipId, 0, chunks[0]?.data as Buffer)
    await suite.engine.stop()
    try {
      await expect(
        store.writeChunk('porch', manifest.clipId, 1000, chunks[1]?.data as Buffer),
      ).rejects.toMatchObject({
        code: 'POSTGRES_UNAVAILABLE',
      })
    } finally {
      await suite.engine.start()
    }
    // The device sends the chunk again (it was never acked); the first one was kept.
    for (let attempt = 0; ; attempt++) {
      try {
        await store.writeChunk('porch', manifest.clipId, 1000, chunks[1]?.data as Buffer)
        break
      } catch (err) {
        if (attempt > 50) throw err
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    expect(await store.finalize('porch', manifest)).toBe('complete')
    expect(await readFile((await store.clipFile('porch', manifest.clipId)) as string)).toEqual(body)
  })

  it('keeps its local copies within maxCopyBytes, removing the least recently served first', async () => {
    const url = await suite.freshDatabase()
    const store = new PostgresClipStore(await suite.connect(url), nodeDir(), { maxCopyBytes: 2500 })
    const bodies = new Map<string, Buffer>()
    for (const clipId of [
      '01J00000000000000000000001',
      '01J00000000000000000000002',
      '01J00000000000000000000003',
    ]) {
      const { body, manifest, chunks } = clipBody(1, 1000)
      await store.writeChunk('porch', clipId, 0, chunks[0]?.data as Buffer)
      expect(await store.finalize('porch', { ...manifest, clipId })).toBe('complete')
      bodies.set(clipId, body)
    }
    const [first, second, third] = [...bodies.keys()] as [string, string, string]
    const pause = () => new Promise((resolve) => setTimeout(resolve, 20))
    const copyOf = async (clipId: string) => (await store.clipFile('porch', clipId)) as string
    const firstCopy = await copyOf(first)
    await pause()
    const secondCopy = await copyOf(second)
    await pause()
    // Served again: now the first is more recent than the second.
    await copyOf(first)
    await pause()
    const thirdCopy = await copyOf(third)
    expect([existsSync(firstCopy), existsSync(secondCopy), existsSync(thirdCopy)]).toEqual([
      true,
      false,
      true,
    ])
    // The removed copy is only a cache: asked for again, it is written again from the rows.
    expect(await readFile(await copyOf(second))).toEqual(bodies.get(second))
    expect(existsSync(firstCopy)).toBe(false)
  })
})
