import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerHttpAccess } from '../../../collector/access/http-access.js'
import { routePermissions } from '../../../collector/access/route-permissions.js'
import { type ComposedCollector, startCollector } from '../../../collector/main.js'
import { isDoorbellError } from '../../../shared/errors.js'
import { tempDir, testConfig } from '../collector-harness.js'

const apiToken = 'operator-token-0123456789'
const nobody = { get: async () => undefined, standing: async () => undefined }

describe('the route table', () => {
  const dir = tempDir('route-permissions')
  let running: ComposedCollector

  beforeAll(async () => {
    running = await startCollector(testConfig(dir.path, { http: { port: 0, apiToken } }))
  })
  afterAll(async () => {
    await running?.close()
    dir.cleanup()
  })

  it('refuses to register a route that has no line in the table', async () => {
    const app = Fastify()
    await registerHttpAccess(app, { apiToken, sessions: nobody, homeowners: nobody })
    expect(() => app.get('/api/unlisted', async () => 'open')).toThrow(
      expect.toSatisfy((err: unknown) => isDoorbellError(err, 'ROUTE_UNGUARDED')),
    )
    await app.close()
  })

  it('names only routes the collector serves, so no line is stale', () => {
    const app = running.http
    if (!app) throw new Error('no http')
    for (const key of Object.keys(routePermissions)) {
      const [method, url] = key.split(' ') as [string, string]
      expect(app.hasRoute({ method: method as 'GET', url }), key).toBe(true)
    }
  })

  it('answers the operator on the dashboard’s own API with 401 "log in first", not a Bearer challenge', async () => {
    const app = running.http
    if (!app) throw new Error('no http')
    for (const url of ['/api/events', '/api/settings', '/api/readings?type=light']) {
      const res = await app.inject({ url, headers: { authorization: `Bearer ${apiToken}` } })
      expect(res.statusCode, url).toBe(401)
      expect(res.json(), url).toEqual({ error: 'log in first' })
      expect(res.headers['www-authenticate'], url).toBeUndefined()
    }
  })

  it('refuses a cross-origin unsafe request even with the operator token', async () => {
    const app = running.http
    if (!app) throw new Error('no http')
    const res = await app.inject({
      method: 'DELETE',
      url: '/api/push/subscriptions',
      headers: { authorization: `Bearer ${apiToken}`, origin: 'https://evil.example', host: 'localhost' },
      payload: { endpoint: 'https://push.test/x' },
    })
    expect(res.statusCode).toBe(403)
    expect(res.json()).toEqual({ error: 'cross-origin request refused' })
  })
})
