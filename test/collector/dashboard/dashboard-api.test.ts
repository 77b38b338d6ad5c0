import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ComposedCollector, startCollector } from '../../../collector/main.js'
import { eventually } from '../../support/eventually.js'
import { press, reading, tempDir, testConfig } from '../collector-harness.js'

const ownerPassword = 'correct horse battery'
const viewerPassword = 'viewer password 1'
const apiToken = 'operator-token-0123456789'

describe('dashboard API', () => {
  const dir = tempDir('dashboard-api')
  let running: ComposedCollector
  let app: FastifyInstance
  let owner: { cookie: string; csrf: string }
  let viewer: { cookie: string; csrf: string }

  const login = async (name: string, password: string): Promise<{ cookie: string; csrf: string }> => {
    const res = await app.inject({ method: 'POST', url: '/api/login', payload: { name, password } })
    expect(res.statusCode).toBe(200)
    const cookie = String(res.headers['set-cookie']).split(';')[0] ?? ''
    return { cookie, csrf: res.json<{ csrfToken: string }>().csrfToken }
  }

  beforeAll(async () => {
    running = await startCollector(
      testConfig(dir.path, {
        http: { port: 0, apiToken },
        alerts: {
          channels: [
            { kind: 'webhook', name: 'hook', url: 'http://127.0.0.1:9/hook', secret: 'a'.repeat(32) },
          ],
          retry: { attempts: 1 },
        },
      }),
    )
    await running.stores.homeowners.add('alice', ownerPassword, 'owner')
    await running.stores.homeowners.add('bob', viewerPassword, 'viewer')
    const http = running.http
    if (!http) throw new Error('no http')
    app = http
    const events = [press('front-door', 1), press('front-door', 2), reading('front-door', 3, 19.5)]
    await running.store.commit({
      events: events.map((e) => ({ ...e, receivedAtMs: Date.now() })),
      chunks: [],
    })
    owner = await login('alice', ownerPassword)
    viewer = await login('bob', viewerPassword)
  })
  afterAll(async () => {
    await running?.close()
    dir.cleanup()
  })

  it('refuses unauthenticated reads of events, readings, settings and device health', async () => {
    for (const url of [
      '/api/events',
      '/api/readings?type=temperature',
      '/api/settings',
      '/api/devices/health',
    ]) {
      const res = await app.inject({ method: 'GET', url })
      expect(res.statusCode, url).toBe(401)
    }
  })

  it('refuses a wrong password and sets a HttpOnly SameSite=Strict cookie on login', async () => {
    const bad = await app.inject({
      method: 'POST',
      url: '/api/login',
      payload: { name: 'alice', password: 'nope' },
    })
    expect(bad.statusCode).toBe(401)
    const unknown = await app.inject({
      method: 'POST',
      url: '/api/login',
      payload: { name: 'eve', password: 'x' },
    })
    expect(unknown.statusCode).toBe(401)
    const ok = await app.inject({
      method: 'POST',
      url: '/api/login',
      payload: { name: 'bob', password: viewerPassword },
    })
    const setCookie = String(ok.headers['set-cookie'])
    expect(setCookie).toMatch(/HttpOnly/)
    expect(setCookie).toMatch(/SameSite=Strict/)
  })

  it('lists events newest first, filtered by type and paginated by cursor', async () => {
    const first = await app.inject({
      url: '/api/events?type=button.press&limit=1',
      headers: { cookie: viewer.cookie },
    })
    expect(first.statusCode).toBe(200)
    const page1 = first.json<{ items: { seq: number; type: string }[]; nextCursor?: string }>()
    expect(page1.items.map((e) => e.seq)).toEqual([2])
    expect(page1.nextCursor).toBeTruthy()
    const second = await app.inject({
      url: `/api/events?type=button.press&limit=1&cursor=${encodeURIComponent(page1.nextCursor ?? '')}`,
      headers: { cookie: viewer.cookie },
    })
    expect(second.json<{ items: { seq: number }[] }>().items.map((e) => e.seq)).toEqual([1])
    const byDevice = await app.inject({
      url: '/api/events?deviceId=back-door',
      headers: { cookie: viewer.cookie },
    })
    expect(byDevice.json<{ items: unknown[] }>().items).toEqual([])
    const badType = await app.inject({ url: '/api/events?type=nope', headers: { cookie: viewer.cookie } })
    expect(badType.statusCode).toBe(400)
  })

  it('returns one event and temperature readings', async () => {
    const list = await app.inject({
      url: '/api/events?type=button.press',
      headers: { cookie: viewer.cookie },
    })
    const id = list.json<{ items: { id: string }[] }>().items[0]?.id
    const one = await app.inject({ url: `/api/events/${id}`, headers: { cookie: viewer.cookie } })
    expect(one.json<{ event: { id: string } }>().event.id).toBe(id)
    const readings = await app.inject({
      url: '/api/readings?type=temperature',
      headers: { cookie: viewer.cookie },
    })
    expect(readings.json<{ points: { value: number }[] }>().points.map((p) => p.value)).toEqual([19.5])
  })

  it('refuses an unsafe request without the CSRF token or from another origin', async () => {
    const settings = { channels: ['hook'], kinds: ['press'], quietHours: null }
    const noToken = await app.inject({
      method: 'PUT',
      url: '/api/settings',
      headers: { cookie: owner.cookie },
      payload: settings,
    })
    expect(noToken.statusCode).toBe(403)
    const crossOrigin = await app.inject({
      method: 'PUT',
      url: '/api/settings',
      headers: {
        cookie: owner.cookie,
        'x-csrf-token': owner.csrf,
        origin: 'https://evil.example',
        host: 'localhost',
      },
      payload: settings,
    })
    expect(crossOrigin.statusCode).toBe(403)
  })

  it('lets an owner, not a viewer, change notification settings, and the alert service uses them', async () => {
    const settings = {
      channels: ['hook'],
      kinds: ['press', 'offline'],
      quietHours: { start: '22:00', end: '07:00', allowKinds: ['press'] },
    }
    const asViewer = await app.inject({
      method: 'PUT',
      url: '/api/settings',
      headers: { cookie: viewer.cookie, 'x-csrf-token': viewer.csrf },
      payload: settings,
    })
    expect(asViewer.statusCode).toBe(403)
    const asOwner = await app.inject({
      method: 'PUT',
      url: '/api/settings',
      headers: { cookie: owner.cookie, 'x-csrf-token': owner.csrf },
      payload: settings,
    })
    expect(asOwner.statusCode).toBe(200)
    const read = await app.inject({ url: '/api/settings', headers: { cookie: owner.cookie } })
    expect(read.json<{ settings: unknown }>().settings).toEqual({ ...settings, timeZone: null })
    const test = await app.inject({
      method: 'POST',
      url: '/api/settings/test-notification',
      headers: { cookie: owner.cookie, 'x-csrf-token': owner.csrf },
    })
    expect(test.json()).toEqual({ channels: ['hook'] })
    const unknownChannel = await app.inject({
      method: 'PUT',
      url: '/api/settings',
      headers: { cookie: owner.cookie, 'x-csrf-token': owner.csrf },
      payload: { ...settings, channels: ['sms'] },
    })
    expect(unknownChannel.statusCode).toBe(400)
  })

  it('refuses settings with a time zone Intl does not know (it would break every quiet-hours check)', async () => {
    const res = await app.inject({
      method: 'PUT',
      url: '/api/settings',
      headers: { cookie: owner.cookie, 'x-csrf-token': owner.csrf },
      payload: {
        channels: ['hook'],
        kinds: ['press'],
        quietHours: { start: '22:00', end: '07:00', timeZone: 'Mars/Olympus', allowKinds: [] },
      },
    })
    expect(res.statusCode).toBe(400)
    expect(res.json<{ error: string }>().error).toContain('IANA time zone')
  })

  it('opens the alerts API to a session (viewer reads; dead letters owner only) and keeps the bearer token', async () => {
    const health = await app.inject({ url: '/api/devices/health', headers: { cookie: viewer.cookie } })
    expect(health.statusCode).toBe(200)
    const deadAsViewer = await app.inject({
      url: '/api/alerts/dead-letters',
      headers: { cookie: viewer.cookie },
    })
    expect(deadAsViewer.statusCode).toBe(403)
    const deadAsOwner = await app.inject({
      url: '/api/alerts/dead-letters',
      headers: { cookie: owner.cookie },
    })
    expect(deadAsOwner.statusCode).toBe(200)
    const bearer = await app.inject({
      url: '/api/devices/health',
      headers: { authorization: `Bearer ${apiToken}` },
    })
    expect(bearer.statusCode).toBe(200)
  })

  it('opens the media routes to any session and keeps them closed without one', async () => {
    const list = await app.inject({
      url: '/api/events?type=button.press',
      headers: { cookie: viewer.cookie },
    })
    const id = list.json<{ items: { id: string }[] }>().items[0]?.id
    expect((await app.inject({ url: `/api/events/${id}/snapshot` })).statusCode).toBe(401)
    expect((await app.inject({ url: `/api/clips/${id}` })).statusCode).toBe(401)
    const asViewer = await app.inject({
      url: `/api/events/${id}/snapshot`,
      headers: { cookie: viewer.cookie },
    })
    expect(asViewer.statusCode).toBe(404)
    const clip = await app.inject({ url: `/api/clips/${id}`, headers: { cookie: viewer.cookie } })
    expect(clip.statusCode).toBe(404)
  })

  it('documents the API as OpenAPI and serves the PWA files', async () => {
    expect((await app.inject({ url: '/api/openapi.json' })).statusCode).toBe(401)
    const doc = (
      await app.inject({ url: '/api/openapi.json', headers: { authorization: `Bearer ${apiToken}` } })
    ).json<{ openapi: string; paths: object }>()
    expect(doc.openapi).toMatch(/^3\./)
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/events',
        '/api/login',
        '/api/settings',
        '/api/clips/{clipId}',
        '/api/devices/health',
      ]),
    )
    const index = await app.inject({ url: '/' })
    expect(index.statusCode).toBe(200)
    expect(index.body).toContain('manifest.webmanifest')
    expect((await app.inject({ url: '/sw.js' })).statusCode).toBe(200)
  })

  it('ends the session on logout', async () => {
    const session = await login('bob', viewerPassword)
    const out = await app.inject({
      method: 'POST',
      url: '/api/logout',
      headers: { cookie: session.cookie, 'x-csrf-token': session.csrf },
    })
    expect(out.statusCode).toBe(204)
    const after = await app.inject({ url: '/api/events', headers: { cookie: session.cookie } })
    expect(after.statusCode).toBe(401)
  })

  it('voids sessions of a removed account, applies a new role at once, and logs out on a password change', async () => {
    await running.stores.homeowners.add('carol', 'carol password 1', 'viewer')
    const carol = await login('carol', 'carol password 1')
    const asViewer = await app.inject({
      method: 'PUT',
      url: '/api/settings',
      headers: { cookie: carol.cookie, 'x-csrf-token': carol.csrf },
      payload: { channels: [], kinds: [], quietHours: null },
    })
    expect(asViewer.statusCode).toBe(403)
    await running.stores.homeowners.update('carol', { role: 'owner' })
    const promoted = await app.inject({
      method: 'PUT',
      url: '/api/settings',
      headers: { cookie: carol.cookie, 'x-csrf-token': carol.csrf },
      payload: { channels: [], kinds: [], quietHours: null },
    })
    expect(promoted.statusCode).toBe(200)
    await running.stores.homeowners.update('carol', { password: 'carol password 2' }, Date.now() + 1)
    expect((await app.inject({ url: '/api/session', headers: { cookie: carol.cookie } })).statusCode).toBe(
      401,
    )
    const again = await login('carol', 'carol password 2')
    await running.stores.homeowners.remove('carol')
    expect((await app.inject({ url: '/api/events', headers: { cookie: again.cookie } })).statusCode).toBe(401)
  })

  it('refuses logins for a while after repeated wrong passwords', async () => {
    await running.stores.homeowners.add('dave', 'dave password 1', 'viewer')
    // limits.dashboardLogin: 5 failures of one address for one account are free, the 6th is checked
    // and starts the backoff.
    for (let i = 0; i < 6; i++) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/login',
        payload: { name: 'dave', password: `guess ${i}` },
      })
      expect(res.statusCode).toBe(401)
    }
    const blocked = await app.inject({
      method: 'POST',
      url: '/api/login',
      payload: { name: 'dave', password: 'dave password 1' },
    })
    expect(blocked.statusCode).toBe(429)
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0)
  })

  it('stores only hashes of session tokens', async () => {
    const { readFileSync } = await import('node:fs')
    const text = readFileSync(`${dir.path}/dashboard/sessions.json`, 'utf8')
    expect(text).not.toContain(owner.cookie.split('=')[1])
  })
})

describe('dashboard live stream', () => {
  it('streams a stored press to a logged-in browser and ends the stream on logout', async () => {
    const dir = tempDir('dashboard-sse')
    const running = await startCollector(testConfig(dir.path))
    try {
      await running.stores.homeowners.add('alice', ownerPassword, 'owner')
      const base = `http://127.0.0.1:${running.httpPort}`
      expect((await fetch(`${base}/api/events/stream`)).status).toBe(401)
      const login = await fetch(`${base}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'alice', password: ownerPassword }),
      })
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
      const { csrfToken } = (await login.json()) as { csrfToken: string }
      const stream = await fetch(`${base}/api/events/stream`, { headers: { cookie } })
      expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/)
      const reader = stream.body?.getReader()
      if (!reader) throw new Error('no body')
      const decoder = new TextDecoder()
      let text = ''
      const event = { ...press('front-door', 7), receivedAtMs: Date.now() }
      await eventually(() => running.dashboard.hub?.clientCount === 1, 'stream open', 5000)
      running.dashboard.hub?.onStored([event, { ...reading('front-door', 8), receivedAtMs: Date.now() }])
      while (!/event: stored[\s\S]*?\n\n/.test(text)) {
        const chunk = await reader.read()
        if (chunk.done) break
        text += decoder.decode(chunk.value)
      }
      expect(text).toContain(`event: stored\nid: ${event.id}\n`)
      expect(text).not.toContain('temperature')
      await fetch(`${base}/api/logout`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrfToken } })
      for (;;) {
        const chunk = await reader.read()
        if (chunk.done) break
      }
      expect(running.dashboard.hub?.clientCount).toBe(0)
    } finally {
      await running.close()
      dir.cleanup()
    }
  })
})
