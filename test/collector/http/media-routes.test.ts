import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ClipManifest } from '../../../collector/clips/clip-store.js'
import type { RunningCollector } from '../../../collector/collector.js'
import type { StoredEvent } from '../../../collector/store/event-store.js'
import { createEnvelope, newEventId } from '../../../shared/protocol/index.js'
import { startCollector, tempDir, testConfig } from '../collector-harness.js'

const token = 'test-token-0123456789'
const auth = { authorization: `Bearer ${token}` }

describe('media routes', () => {
  const dir = tempDir('collector-media-routes')
  let collector: RunningCollector
  const body = randomBytes(100_000)
  const clipId = newEventId()
  const pressId = newEventId()
  const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), randomBytes(500)])
  let snapshotId = ''

  beforeAll(async () => {
    collector = await startCollector(testConfig(dir.path, { http: { port: 0, apiToken: token } }))
    const manifest: ClipManifest = {
      clipId,
      relatesTo: pressId,
      contentType: 'video/mp4',
      startedAt: new Date().toISOString(),
      durationMs: 4000,
      prerollMs: 2000,
      hasAudio: false,
      bytes: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
      chunkBytes: 65_536,
      chunkCount: 2,
    }
    await collector.clips.writeChunk('porch', clipId, 0, body.subarray(0, 65_536))
    await collector.clips.writeChunk('porch', clipId, 65_536, body.subarray(65_536))
    expect(await collector.clips.finalize('porch', manifest)).toBe('complete')
    const press = createEnvelope({
      deviceId: 'porch',
      seq: 1,
      type: 'button.press',
      payload: {},
      id: pressId,
    })
    const snapshot = createEnvelope({
      deviceId: 'porch',
      seq: 2,
      type: 'snapshot',
      payload: {
        relatesTo: pressId,
        contentType: 'image/jpeg',
        bytes: jpeg.length,
        sha256: createHash('sha256').update(jpeg).digest('hex'),
        data: jpeg.toString('base64'),
      },
    })
    snapshotId = snapshot.id
    const receivedAtMs = Date.now()
    await collector.store.commit({
      events: [{ ...press, receivedAtMs } as StoredEvent, { ...snapshot, receivedAtMs } as StoredEvent],
      chunks: [],
      clips: [{ clipId, deviceId: 'porch', manifest, isComplete: true }],
    })
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
    const res = await inject({ url: `/api/clips/${clipId}`, headers: auth })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain('video/mp4')
    expect(res.headers['accept-ranges']).toBe('bytes')
    expect(res.rawPayload.equals(body)).toBe(true)
  })

  it('answers a range request with 206 and exactly those bytes', async () => {
    const res = await inject({
      url: `/api/clips/${clipId}`,
      headers: { ...auth, range: 'bytes=1000-70999' },
    })
    expect(res.statusCode).toBe(206)
    expect(res.headers['content-range']).toBe(`bytes 1000-70999/${body.length}`)
    expect(res.rawPayload.equals(body.subarray(1000, 71_000))).toBe(true)
    const tail = await inject({
      url: `/api/clips/${clipId}`,
      headers: { ...auth, range: 'bytes=-10' },
    })
    expect(tail.statusCode).toBe(206)
    expect(tail.rawPayload.equals(body.subarray(body.length - 10))).toBe(true)
  })

  it('refuses without the bearer token and answers 404 for an unknown clip', async () => {
    expect((await inject({ url: `/api/clips/${clipId}` })).statusCode).toBe(401)
    const wrong = { authorization: 'Bearer not-the-token-at-all' }
    expect((await inject({ url: `/api/clips/${clipId}`, headers: wrong })).statusCode).toBe(401)
    expect((await inject({ url: `/api/clips/${newEventId()}`, headers: auth })).statusCode).toBe(404)
    expect((await inject({ url: '/api/clips/..%2F..%2Fetc', headers: auth })).statusCode).toBe(400)
  })

  it('serves the JPEG of a snapshot by its own id and by the press it enriches', async () => {
    for (const id of [snapshotId, pressId]) {
      const res = await inject({ url: `/api/events/${id}/snapshot`, headers: auth })
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toBe('image/jpeg')
      expect(res.rawPayload.equals(jpeg)).toBe(true)
    }
    expect((await inject({ url: `/api/events/${newEventId()}/snapshot`, headers: auth })).statusCode).toBe(
      404,
    )
  })
})
