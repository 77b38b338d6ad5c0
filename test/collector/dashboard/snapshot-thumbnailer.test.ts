import { describe, expect, it } from 'vitest'
import { dashboardConfigSchema } from '../../../collector/dashboard/dashboard-config.js'
import { SharpSnapshotThumbnailer } from '../../../collector/dashboard/snapshot-thumbnailer.js'
import { cameraJpeg } from './snapshot-fixtures.js'

const defaults = dashboardConfigSchema.parse({}).thumbnails
const jpeg = cameraJpeg({ widthPx: 640, heightPx: 480 })

describe('SharpSnapshotThumbnailer', () => {
  it('makes a thumbnail once and answers from the cache after that', async () => {
    const thumbnails = new SharpSnapshotThumbnailer(defaults)
    let reads = 0
    const read = () => {
      reads += 1
      return jpeg
    }
    const [a, b] = await Promise.all([thumbnails.thumbnail('s1', read), thumbnails.thumbnail('s1', read)])
    expect([a.kind, b.kind]).toEqual(['made', 'made'])
    expect((await thumbnails.thumbnail('s1', read)).kind).toBe('cached')
    // Two requests at once shared one resize.
    expect(reads).toBe(1)
  })

  it('refuses with busy beyond the running and waiting bounds, and does not run the refused one', async () => {
    const thumbnails = new SharpSnapshotThumbnailer({ ...defaults, maxRunning: 1, maxWaiting: 1 })
    const results = await Promise.all(['a', 'b', 'c', 'd'].map((id) => thumbnails.thumbnail(id, () => jpeg)))
    expect(results.map((r) => r.kind)).toEqual(['made', 'made', 'busy', 'busy'])
    expect((await thumbnails.thumbnail('c', () => jpeg)).kind).toBe('made')
  })

  it('keeps the cache within its bytes, forgetting the least recently used first', async () => {
    const one = await new SharpSnapshotThumbnailer(defaults).thumbnail('x', () => jpeg)
    if (one.kind !== 'made') throw new Error(one.kind)
    const size = one.jpeg.length
    const thumbnails = new SharpSnapshotThumbnailer({ ...defaults, cacheBytes: size * 2 + size / 2 })
    for (const id of ['a', 'b']) await thumbnails.thumbnail(id, () => jpeg)
    expect((await thumbnails.thumbnail('a', () => jpeg)).kind).toBe('cached')
    await thumbnails.thumbnail('c', () => jpeg)
    expect(thumbnails.cachedBytes).toBeLessThanOrEqual(size * 2 + size / 2)
    expect((await thumbnails.thumbnail('a', () => jpeg)).kind).toBe('cached')
    expect((await thumbnails.thumbnail('b', () => jpeg)).kind).toBe('made')
  })

  it('refuses a snapshot larger than maxInputPixels before decoding it', async () => {
    const thumbnails = new SharpSnapshotThumbnailer({ ...defaults, maxInputPixels: 320 * 240 })
    const result = await thumbnails.thumbnail('big', () => jpeg)
    expect(result.kind).toBe('undecodable')
    if (result.kind === 'undecodable') expect(result.err.message).toMatch(/pixel limit/i)
  })
})
