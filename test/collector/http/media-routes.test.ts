import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { alertLinks } from '../../../collector/alerts/alert.js'
import type { RunningCollector } from '../../../collector/main.js'
import { newEventId } from '../../../shared/protocol/index.js'
import { startCollector, tempDir, testConfig } from '../collector-harness.js'
import { type StoredMedia, storeMedia } from './media-fixture.js'

const token = 'test-token-0123456789'
const auth = { authorization: `Bearer ${token}` }

describe('media routes', () => {
  const dir = tempDir('collector-media-routes')
  let collector: RunningCollector
  let media: StoredMedia

  beforeAll(async () => {
    collector = await startCollector(testConfig(dir.path, { http: { port: 0, apiToken: token } }))
    media = await storeMedia(collector)
  })

  const inject = (options: { url: string; headers?: Record<string, string> }) => {
    if (!collector.http) throw new Error('collector has no HTTP server')
    return collector.http.inject(options)
  }

  afterAll(async () => {
    await collector?.close()
    dir.cleanup()
  })

  it('serves a whole clip as video/mp4 and advertises ranges', async () => {
    const res = await inject({ url: `/api/clips/${media.clipId}`, headers: auth })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain('video/mp4')
    expect(res.headers['accept-ranges']).toBe('bytes')
    expect(res.rawPayload.equals(media.body)).toBe(true)
  })

  it('answers a range request with 206 and exactly those bytes', async () => {
    const res = await inject({
      url: `/api/clips/${media.clipId}`,
      headers: { ...auth, range: 'bytes=1000-70999' },
    })
    expect(res.statusCode).toBe(206)
    expect(res.headers['content-range']).toBe(`bytes 1000-70999/${media.body.length}`)
    expect(res.rawPayload.equals(media.body.subarray(1000, 71_000))).toBe(true)
    const tail = await inject({
      url: `/api/clips/${media.clipId}`,
      headers: { ...auth, range: 'bytes=-10' },
    })
    expect(tail.statusCode).toBe(206)
    expect(tail.rawPayload.equals(media.body.subarray(media.body.length - 10))).toBe(true)
  })

  it('refuses without the bearer token and answers 404 for an unknown clip', async () => {
    expect((await inject({ url: `/api/clips/${media.clipId}` })).statusCode).toBe(401)
    const wrong = { authorization: 'Bearer not-the-token-at-all' }
    expect((await inject({ url: `/api/clips/${media.clipId}`, headers: wrong })).statusCode).toBe(401)
    expect((await inject({ url: `/api/clips/${newEventId()}`, headers: auth })).statusCode).toBe(404)
    expect((await inject({ url: '/api/clips/..%2F..%2Fetc', headers: auth })).statusCode).toBe(400)
  })

  it('serves the JPEG of a snapshot by its own id and by the press it enriches', async () => {
    for (const id of [media.snapshotId, media.pressId]) {
      const res = await inject({ url: `/api/events/${id}/snapshot`, headers: auth })
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toBe('image/jpeg')
      expect(res.rawPayload.equals(media.jpeg)).toBe(true)
    }
    expect((await inject({ url: `/api/events/${newEventId()}/snapshot`, headers: auth })).statusCode).toBe(
      404,
    )
  })

  it('serves the picture and the clip that alert links name', async () => {
    const links = alertLinks('https://door.example.org/')
    const picture = await inject({
      url: new URL(links.snapshot(media.snapshotId) ?? '').pathname,
      headers: auth,
    })
    expect(picture.statusCode).toBe(200)
    expect(picture.rawPayload.equals(media.jpeg)).toBe(true)
    const clip = await inject({ url: new URL(links.clip(media.clipId) ?? '').pathname, headers: auth })
    expect(clip.statusCode).toBe(200)
    expect(clip.rawPayload.equals(media.body)).toBe(true)
  })
})
