import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ComposedCollector, startCollector } from '../../../collector/main.js'
import { tempDir, testConfig } from '../collector-harness.js'

const password = 'settings owner pw'

describe('settings: the time zone times are shown in', () => {
  const dir = tempDir('settings-routes')
  let running: ComposedCollector
  let app: FastifyInstance
  let owner = { cookie: '', csrf: '' }
  const settings = { channels: [], kinds: ['press'] }

  beforeAll(async () => {
    running = await startCollector(testConfig(dir.path))
    await running.stores.homeowners.add('alice', password, 'owner')
    if (!running.http) throw new Error('no http')
    app = running.http
    const login = await app.inject({
      method: 'POST',
      url: '/api/login',
      payload: { name: 'alice', password },
    })
    owner = {
      cookie: String(login.headers['set-cookie']).split(';')[0] ?? '',
      csrf: login.json<{ csrfToken: string }>().csrfToken,
    }
    expect(login.json()).toMatchObject({ user: 'alice', timeZone: null })
  })
  afterAll(async () => {
    await running?.close()
    dir.cleanup()
  })

  const put = (body: unknown) =>
    app.inject({
      method: 'PUT',
      url: '/api/settings',
      headers: { cookie: owner.cookie, 'x-csrf-token': owner.csrf },
      payload: body as object,
    })

  it('refuses a time zone that does not exist with a 400 naming the field', async () => {
    const display = await put({ ...settings, quietHours: null, timeZone: 'Mars/Olympus' })
    expect(display.statusCode).toBe(400)
    expect(display.json<{ error: string }>().error).toMatch(/IANA time zone[\s\S]*→ at timeZone/)
    const quiet = await put({
      ...settings,
      quietHours: { start: '22:00', end: '07:00', timeZone: 'Europe/Nowhere', allowKinds: [] },
    })
    expect(quiet.statusCode).toBe(400)
    expect(quiet.json<{ error: string }>().error).toMatch(/→ at quietHours\.timeZone/)
  })

  it('saves the zone, returns it with the session, and gives it to quiet hours that name none', async () => {
    const saved = await put({
      ...settings,
      quietHours: { start: '22:00', end: '07:00', allowKinds: [] },
      timeZone: 'Asia/Tokyo',
    })
    expect(saved.statusCode).toBe(200)
    const session = await app.inject({ url: '/api/session', headers: { cookie: owner.cookie } })
    expect(session.json()).toMatchObject({ user: 'alice', timeZone: 'Asia/Tokyo' })
    const alice = running.stores.userSettings.users().find((u) => u.name === 'alice')
    expect(alice?.quietHours).toMatchObject({ start: '22:00', timeZone: 'Asia/Tokyo' })
    // null goes back to the browser's own zone.
    expect((await put({ ...settings, quietHours: null, timeZone: null })).statusCode).toBe(200)
    const after = await app.inject({ url: '/api/settings', headers: { cookie: owner.cookie } })
    expect(after.json<{ settings: { timeZone: unknown } }>().settings.timeZone).toBeNull()
  })
})
