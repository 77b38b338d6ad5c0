import type { FastifyInstance } from 'fastify'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ComposedCollector, startCollector } from '../../../collector/main.js'
import type { Envelope } from '../../../shared/protocol/index.js'
import { injectLogin } from '../../support/http-client.js'
import { manifestAt, metric, tempDir, testConfig } from '../collector-harness.js'
import { cameraJpeg, pressAt, snapshotEnvelope } from './snapshot-fixtures.js'

const password = 'thumbnail owner pw'

describe('timeline thumbnails', () => {
  const dir = tempDir('thumbnail-routes')
  let running: ComposedCollector
  let app: FastifyInstance
  let cookie = ''
  const t0 = Date.now() - 60_000
  const withPicture = pressAt('front-door', 1, t0)
  const withoutPicture = pressAt('front-door', 3, t0 + 10_000)
  const withGarbage = pressAt('front-door', 4, t0 + 20_000)
  const jpeg = cameraJpeg()
  const picture = snapshotEnvelope('front-door', 2, jpeg, { relatesTo: withPicture.id, atMs: t0 + 400 })
  const garbage = snapshotEnvelope('front-door', 5, Buffer.from('not a jpeg at all'), {
    relatesTo: withGarbage.id,
    atMs: t0 + 20_400,
  })

  const commit = (events: Envelope[]) =>
    running.store.commit({ events: events.map((e) => ({ ...e, receivedAtMs: Date.now() })), chunks: [] })

  beforeAll(async () => {
    running = await startCollector(testConfig(dir.path))
    await running.stores.homeowners.add('alice', password, 'viewer')
    if (!running.http) throw new Error('no http')
    app = running.http
    await commit([withPicture, picture, withoutPicture, withGarbage, garbage])
    cookie = (await injectLogin(app, 'alice', password)).cookie
  })
  afterAll(async () => {
    await running?.close()
    dir.cleanup()
  })

  it('lists each press with the id of its snapshot and clip, null until they arrive', async () => {
    const res = await app.inject({ url: '/api/events?type=button.press', headers: { cookie } })
    const items = res.json<{ items: { id: string; media: unknown }[] }>().items
    const byId = new Map(items.map((e) => [e.id, e.media]))
    expect(byId.get(withPicture.id)).toEqual({ snapshotId: picture.id, clipId: null })
    expect(byId.get(withoutPicture.id)).toEqual({ snapshotId: null, clipId: null })
    const clip = manifestAt(t0 + 30_000, { bytes: 10, sha256: 'a'.repeat(64), chunkBytes: 10, chunkCount: 1 })
    const press = pressAt('porch', 1, t0 + 29_000)
    await commit([press, { ...clip, payload: { ...clip.payload, relatesTo: press.id } }])
    const porch = await app.inject({
      url: '/api/events?deviceId=porch&type=button.press',
      headers: { cookie },
    })
    expect(porch.json<{ items: { media: unknown }[] }>().items[0]?.media).toEqual({
      snapshotId: null,
      clipId: clip.payload.clipId,
    })
  })

  it('serves a thumbnail of at most 320 px a side and a fraction of the snapshot, cached as immutable', async () => {
    for (const id of [picture.id, withPicture.id]) {
      const res = await app.inject({ url: `/api/events/${id}/thumbnail`, headers: { cookie } })
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toBe('image/jpeg')
      expect(res.headers['cache-control']).toBe('private, max-age=604800, immutable')
      const meta = await sharp(res.rawPayload).metadata()
      expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 320, 180])
      expect(res.rawPayload.length).toBeLessThan(jpeg.length / 4)
    }
    // The second one (by the press's id) came from the cache.
    expect(await metric(running, 'doorbell_dashboard_thumbnails_total', 'result="made"')).toBe(1)
    expect(await metric(running, 'doorbell_dashboard_thumbnails_total', 'result="cached"')).toBe(1)
  })

  it('answers 404, not cached, for a press whose snapshot has not arrived', async () => {
    const res = await app.inject({ url: `/api/events/${withoutPicture.id}/thumbnail`, headers: { cookie } })
    expect(res.statusCode).toBe(404)
    expect(res.headers['cache-control']).toBe('no-store')
  })

  it('answers 422 for a snapshot that is not an image, counts it, and keeps serving the others', async () => {
    const res = await app.inject({ url: `/api/events/${withGarbage.id}/thumbnail`, headers: { cookie } })
    expect(res.statusCode).toBe(422)
    expect(res.json<{ error: string }>().error).toContain('not a decodable image')
    expect(await metric(running, 'doorbell_dashboard_thumbnails_total', 'result="undecodable"')).toBe(1)
    const ok = await app.inject({ url: `/api/events/${picture.id}/thumbnail`, headers: { cookie } })
    expect(ok.statusCode).toBe(200)
  })

  it('refuses a thumbnail without a session and a malformed id', async () => {
    expect((await app.inject({ url: `/api/events/${picture.id}/thumbnail` })).statusCode).toBe(401)
    expect((await app.inject({ url: '/api/events/nope/thumbnail', headers: { cookie } })).statusCode).toBe(
      400,
    )
  })
})
