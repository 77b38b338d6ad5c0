import { createHash, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { ulid } from 'ulid'
import { afterAll, describe, expect, it } from 'vitest'
import type { ClipManifest, ClipStore } from '../../../../collector/clips/clip-store.js'
import type { StoreHarness } from './store-harness.js'

const chunkBytes = 1000

/** A clip body of three chunks and its manifest (sha256 of the body, or of something else). */
function clip(isCorrupt = false): { manifest: ClipManifest; body: Buffer; chunks: [number, Buffer][] } {
  const body = randomBytes(2 * chunkBytes + 500)
  const manifest: ClipManifest = {
    clipId: ulid(),
    contentType: 'video/mp4',
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 1000,
    prerollMs: 0,
    hasAudio: false,
    bytes: body.length,
    sha256: createHash('sha256')
      .update(isCorrupt ? randomBytes(8) : body)
      .digest('hex'),
    chunkBytes,
    chunkCount: 3,
  }
  const chunks: [number, Buffer][] = [0, 1, 2].map((i) => [
    i * chunkBytes,
    body.subarray(i * chunkBytes, (i + 1) * chunkBytes),
  ])
  return { manifest, body, chunks }
}

/** The contract every ClipStore passes (the aedes-persistence abstract-suite pattern). */
export function clipStoreContract(name: string, harness: StoreHarness<ClipStore>): void {
  describe(`ClipStore contract: ${name}`, () => {
    afterAll(async () => {
      await harness.close?.()
    })

    it('reassembles chunks written in any order, twice over, into the verified clip', async () => {
      const store = await harness.create()
      const { manifest, body, chunks } = clip()
      for (const [offset, data] of [chunks[2], chunks[0], chunks[2], chunks[1]] as [number, Buffer][]) {
        await store.writeChunk('porch', manifest.clipId, offset, data)
      }
      expect(await store.clipFile('porch', manifest.clipId)).toBeUndefined()
      expect(await store.finalize('porch', manifest)).toBe('complete')
      const path = await store.clipFile('porch', manifest.clipId)
      expect(path).toBeDefined()
      expect(await readFile(path as string)).toEqual(body)
      // Finished: a late copy of a chunk changes nothing, and the check answers the same.
      await store.writeChunk('porch', manifest.clipId, 0, randomBytes(chunkBytes))
      expect(await store.finalize('porch', manifest)).toBe('complete')
      expect(await readFile(path as string)).toEqual(body)
    })

    it('answers corrupt for a file that does not match its manifest, and has no clip then', async () => {
      const store = await harness.create()
      const bad = clip(true)
      for (const [offset, data] of bad.chunks)
        await store.writeChunk('porch', bad.manifest.clipId, offset, data)
      expect(await store.finalize('porch', bad.manifest)).toBe('corrupt')
      expect(await store.clipFile('porch', bad.manifest.clipId)).toBeUndefined()
      const short = clip()
      for (const [offset, data] of short.chunks.slice(0, 2))
        await store.writeChunk('porch', short.manifest.clipId, offset, data)
      expect(await store.finalize('porch', short.manifest)).toBe('corrupt')
    })

    it("keeps each device's clips apart, even under the same clip id", async () => {
      const store = await harness.create()
      const { manifest, body, chunks } = clip()
      for (const [offset, data] of chunks) await store.writeChunk('porch', manifest.clipId, offset, data)
      for (const [offset] of chunks)
        await store.writeChunk('garage', manifest.clipId, offset, randomBytes(chunkBytes))
      expect(await store.finalize('porch', manifest)).toBe('complete')
      expect(await store.finalize('garage', manifest)).toBe('corrupt')
      expect(await store.clipFile('garage', manifest.clipId)).toBeUndefined()
      expect(await readFile((await store.clipFile('porch', manifest.clipId)) as string)).toEqual(body)
    })

    it('deletes a clip whole, finished or not, and deleting nothing is no error', async () => {
      const store = await harness.create()
      const done = clip()
      for (const [offset, data] of done.chunks)
        await store.writeChunk('porch', done.manifest.clipId, offset, data)
      await store.finalize('porch', done.manifest)
      const partial = clip()
      await store.writeChunk('porch', partial.manifest.clipId, 0, partial.chunks[0]?.[1] as Buffer)
      await store.deleteClip('porch', done.manifest.clipId)
      await store.deleteClip('porch', partial.manifest.clipId)
      await store.deleteClip('porch', ulid())
      expect(await store.clipFile('porch', done.manifest.clipId)).toBeUndefined()
      // The partial is gone too: chunks written again start a fresh file.
      for (const [offset, data] of partial.chunks)
        await store.writeChunk('porch', partial.manifest.clipId, offset, data)
      expect(await store.finalize('porch', partial.manifest)).toBe('complete')
    })

    it.skipIf(!harness.reopen)('keeps chunks and verified clips across a reopen', async () => {
      const store = await harness.create()
      const first = clip()
      const second = clip()
      for (const [offset, data] of first.chunks)
        await store.writeChunk('porch', first.manifest.clipId, offset, data)
      await store.finalize('porch', first.manifest)
      for (const [offset, data] of second.chunks.slice(0, 2))
        await store.writeChunk('porch', second.manifest.clipId, offset, data)
      const reopened = await (harness.reopen as () => Promise<ClipStore>)()
      expect(await readFile((await reopened.clipFile('porch', first.manifest.clipId)) as string)).toEqual(
        first.body,
      )
      await reopened.writeChunk('porch', second.manifest.clipId, ...(second.chunks[2] as [number, Buffer]))
      expect(await reopened.finalize('porch', second.manifest)).toBe('complete')
    })
  })
}
