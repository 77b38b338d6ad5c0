import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ComposedCollector, startCollector } from '../../../collector/main.js'
import { httpLogin } from '../../support/http-client.js'
import { metric, tempDir, testConfig } from '../collector-harness.js'

const ownerPassword = 'correct horse battery'

/** A collector over real sockets with the owner `alice`; trustProxy as given. */
function collectorWithOwner(
  prefix: string,
  trustProxy?: false | string[],
): { readonly collector: ComposedCollector; port(): number } {
  const dir = tempDir(prefix)
  const rig = {} as { collector: ComposedCollector }
  beforeAll(async () => {
    rig.collector = await startCollector(
      testConfig(dir.path, {
        http: { port: 0, metricsAccess: 'public', ...(trustProxy ? { trustProxy } : {}) },
      }),
    )
    await rig.collector.stores.homeowners.add('alice', ownerPassword, 'owner')
  })
  afterAll(async () => {
    await rig.collector?.close()
    dir.cleanup()
  })
  return {
    get collector() {
      return rig.collector
    },
    port: () => rig.collector.httpPort ?? 0,
  }
}

describe('dashboard login throttle', () => {
  const rig = collectorWithOwner('login-hardening')

  it('parallel wrong passwords are refused before their password is checked', async () => {
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        httpLogin(rig.port(), 'alice', `wrong ${i}`, { localAddress: '127.0.0.2' }),
      ),
    )
    const checked = answers.filter((a) => a.status === 401).length
    console.log(`LOGIN-PARALLEL checked=${checked} refused=${answers.length - checked} of ${answers.length}`)
    expect(checked).toBeLessThanOrEqual(6)
    expect(answers.filter((a) => a.status === 429).length).toBe(answers.length - checked)
    expect(await metric(rig.collector, 'doorbell_dashboard_logins_total', 'result="refused"')).toBe(
      answers.length - checked,
    )
  })

  it("someone else's burst of wrong passwords does not lock the owner out", async () => {
    // A second attacker address keeps guessing alice's password, one after another.
    for (let i = 0; i < 20; i++)
      await httpLogin(rig.port(), 'alice', `guess ${i}`, { localAddress: '127.0.0.3' })
    const owner = await httpLogin(rig.port(), 'alice', ownerPassword, { localAddress: '127.0.0.4' })
    console.log(`LOGIN-OWNER-AFTER-BURST status=${owner.status}`)
    expect(owner.status).toBe(200)
    // The attacker's own address stays backed off.
    expect((await httpLogin(rig.port(), 'alice', 'again', { localAddress: '127.0.0.3' })).status).toBe(429)
  })
})

describe('dashboard login behind a reverse proxy', () => {
  const proxied = collectorWithOwner('login-proxy', ['127.0.0.1'])
  const direct = collectorWithOwner('login-direct')

  it('X-Forwarded-For from the trusted proxy keeps one client from locking out the rest', async () => {
    const via = (client: string) => ({ headers: { 'x-forwarded-for': client } })
    for (let i = 0; i < 60; i++) await httpLogin(proxied.port(), 'alice', `guess ${i}`, via('203.0.113.7'))
    expect((await httpLogin(proxied.port(), 'alice', 'guess', via('203.0.113.7'))).status).toBe(429)
    expect((await httpLogin(proxied.port(), 'alice', ownerPassword, via('198.51.100.9'))).status).toBe(200)
  })

  it('X-Forwarded-For is ignored without trustProxy, so a client cannot pick its address', async () => {
    for (let i = 0; i < 10; i++) {
      await httpLogin(direct.port(), 'alice', `guess ${i}`, {
        localAddress: '127.0.0.5',
        headers: { 'x-forwarded-for': `203.0.113.${i + 1}` },
      })
    }
    const spoofed = await httpLogin(direct.port(), 'alice', 'guess', {
      localAddress: '127.0.0.5',
      headers: { 'x-forwarded-for': '198.51.100.200' },
    })
    expect(spoofed.status).toBe(429)
  })
})
