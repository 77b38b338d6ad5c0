import { randomBytes } from 'node:crypto'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ComposedCollector, startCollector } from '../../../collector/main.js'
import { injectLogin } from '../../support/http-client.js'
import { tempDir, testConfig } from '../collector-harness.js'
import { type StoredMedia, storeMedia } from '../http/media-fixture.js'

const apiToken = 'operator-token-0123456789'

/** Every operator route, media and alerts, with the status an authorized request gets here. */
function operatorRoutes(media: StoredMedia): { request: InjectOptions; okStatus: number }[] {
  return [
    { request: { method: 'GET', url: `/api/clips/${media.clipId}` }, okStatus: 200 },
    { request: { method: 'GET', url: `/api/events/${media.pressId}/snapshot` }, okStatus: 200 },
    { request: { method: 'GET', url: '/api/devices/health' }, okStatus: 200 },
    { request: { method: 'GET', url: '/api/stats/visitors' }, okStatus: 200 },
    { request: { method: 'GET', url: '/api/alerts/dead-letters' }, okStatus: 200 },
    {
      // Authorized, but there is no such subscription.
      request: {
        method: 'DELETE',
        url: '/api/push/subscriptions',
        payload: { endpoint: 'https://push.test/x' },
      },
      okStatus: 404,
    },
  ]
}

function subscription(endpoint: string) {
  const keys = { p256dh: randomBytes(65).toString('base64url'), auth: randomBytes(16).toString('base64url') }
  return { endpoint, expirationTime: null, keys }
}

/** The status of each route for one set of headers, keyed by "METHOD url". */
async function statuses(
  app: FastifyInstance,
  media: StoredMedia,
  headers: Record<string, string>,
): Promise<Record<string, number>> {
  const result: Record<string, number> = {}
  for (const { request } of operatorRoutes(media)) {
    const res = await app.inject({ ...request, headers: { ...request.headers, ...headers } })
    result[`${request.method} ${request.url}`] = res.statusCode
  }
  return result
}

/** Logs a homeowner in; the headers a session request carries. */
async function login(app: FastifyInstance, name: string, password: string) {
  const { cookie, csrf } = await injectLogin(app, name, password)
  return { cookie, 'x-csrf-token': csrf }
}

const expected = (media: StoredMedia, status: (okStatus: number, url: string) => number) =>
  Object.fromEntries(
    operatorRoutes(media).map(({ request, okStatus }) => [
      `${request.method} ${request.url}`,
      status(okStatus, String(request.url)),
    ]),
  )

describe('the one operator token (http.apiToken) on the dashboard collector', () => {
  const dir = tempDir('collector-http-auth')
  let running: ComposedCollector
  let app: FastifyInstance
  let media: StoredMedia
  let owner: Record<string, string>
  let viewer: Record<string, string>

  beforeAll(async () => {
    running = await startCollector(
      testConfig(dir.path, {
        http: { port: 0, apiToken },
        // The push endpoints below do not resolve; this block is about who may add them.
        alerts: { users: [{ name: 'alice' }, { name: 'bob' }], pushEndpoints: 'any' },
      }),
    )
    if (!running.http) throw new Error('no http')
    app = running.http
    media = await storeMedia(running, 1000)
    await running.stores.homeowners.add('alice', 'alice password 1', 'owner')
    await running.stores.homeowners.add('bob', 'bob password 1', 'viewer')
    owner = await login(app, 'alice', 'alice password 1')
    viewer = await login(app, 'bob', 'bob password 1')
  })
  afterAll(async () => {
    await running?.close()
    dir.cleanup()
  })

  it('opens the media routes and the alerts API alike', async () => {
    const got = await statuses(app, media, { authorization: `Bearer ${apiToken}` })
    expect(got).toEqual(expected(media, (ok) => ok))
    const clip = await fetch(`http://127.0.0.1:${running.httpPort}/api/clips/${media.clipId}`, {
      headers: { authorization: `Bearer ${apiToken}` },
    })
    expect(Buffer.from(await clip.arrayBuffer()).equals(media.body)).toBe(true)
  })

  it('answers 401 with WWW-Authenticate: Bearer to a wrong or missing token on every operator route', async () => {
    const wrongOrMissing: Record<string, string>[] = [
      { authorization: 'Bearer operator-token-9876543210' },
      {},
    ]
    for (const headers of wrongOrMissing) {
      expect(await statuses(app, media, headers)).toEqual(expected(media, () => 401))
    }
    for (const { request } of operatorRoutes(media)) {
      const res = await app.inject({ ...request, headers: { authorization: 'Bearer wrong' } })
      expect(res.headers['www-authenticate'], String(request.url)).toBe('Bearer')
    }
  })

  it('keeps sessions working with their roles: viewers read, dead letters are the owner’s', async () => {
    expect(await statuses(app, media, owner)).toEqual(expected(media, (ok) => ok))
    expect(await statuses(app, media, viewer)).toEqual(
      expected(media, (ok, url) => (url === '/api/alerts/dead-letters' ? 403 : ok)),
    )
  })

  it('lets a session subscribe only itself to push, and the operator anyone', async () => {
    const add = (user: string, headers: Record<string, string>) =>
      app.inject({
        method: 'POST',
        url: '/api/push/subscriptions',
        headers,
        payload: {
          user,
          subscription: subscription(`https://push.test/${user}-${randomBytes(4).toString('hex')}`),
        },
      })
    expect((await add('alice', viewer)).statusCode).toBe(403)
    expect((await add('bob', viewer)).statusCode).toBe(201)
    expect((await add('alice', { authorization: `Bearer ${apiToken}` })).statusCode).toBe(201)
    expect((await add('alice', { authorization: 'Bearer operator-token-9876543210' })).statusCode).toBe(401)
  })
})

describe('a collector without http.apiToken', () => {
  it('refuses every bearer token with 401 on media and alerts routes, while sessions still get in', async () => {
    const dir = tempDir('collector-http-auth-off')
    const running = await startCollector(testConfig(dir.path))
    try {
      const app = running.http
      if (!app) throw new Error('no http')
      const media = await storeMedia(running, 1000)
      const bearer = { authorization: `Bearer ${apiToken}` }
      expect(await statuses(app, media, bearer)).toEqual(expected(media, () => 401))
      await running.stores.homeowners.add('alice', 'alice password 1', 'owner')
      const session = await login(app, 'alice', 'alice password 1')
      expect(await statuses(app, media, session)).toEqual(expected(media, (ok) => ok))
    } finally {
      await running.close()
      dir.cleanup()
    }
  })

  it('answers 401, not 503, on the alerts API of a collector without the dashboard', async () => {
    const dir = tempDir('collector-http-auth-alerts')
    const running = await startCollector(testConfig(dir.path))
    try {
      const base = `http://127.0.0.1:${running.httpPort}`
      for (const path of ['/api/devices/health', '/api/stats/visitors', `/api/clips/${'0'.repeat(26)}`]) {
        const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${apiToken}` } })
        expect(res.status, path).toBe(401)
        expect(res.headers.get('www-authenticate')).toBe('Bearer')
      }
    } finally {
      await running.close()
      dir.cleanup()
    }
  })
})
