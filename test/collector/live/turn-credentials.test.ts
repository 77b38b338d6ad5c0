import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { iceServerString } from '../../../agent/live/device-peer.js'
import { loadCollectorConfig } from '../../../collector/config.js'
import { type TurnConfig, turnCredentials } from '../../../collector/live/turn-credentials.js'
import type { LiveIceServer } from '../../../shared/protocol/index.js'
import { thrownDoorbellError as configError } from '../../support/doorbell-error.js'
import { eventually } from '../../support/eventually.js'
import { type Coturn, coturnUnavailableReason, startCoturn } from '../../system/support/coturn.js'
import { tempDir } from '../collector-harness.js'

const secret = 'turn-shared-secret-0123456789'

/** Relay candidates a real TURN client (libdatachannel, as the device uses it) gets with these servers. */
async function relayCandidates(servers: readonly LiveIceServer[]): Promise<string[]> {
  const ndc = await import('node-datachannel')
  const pc = new ndc.PeerConnection('turn-probe', {
    iceServers: servers.map(iceServerString),
    iceTransportPolicy: 'relay',
  })
  const candidates: string[] = []
  try {
    pc.onLocalCandidate((candidate) => candidates.push(candidate))
    const complete = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5000)
      pc.onGatheringStateChange((state) => {
        if (state === 'complete') {
          clearTimeout(timer)
          resolve()
        }
      })
    })
    pc.createDataChannel('probe')
    pc.setLocalDescription()
    await complete
    return candidates.filter((c) => c.includes(' typ relay'))
  } finally {
    pc.close()
  }
}

describe('live.turn config', () => {
  it('names each bad TURN field: a short secret, a URL that is not TURN, a TTL shorter than a session', () => {
    const err = configError(() =>
      loadCollectorConfig(undefined, {
        DOORBELL_LIVE__TURN__SECRET: 'short',
        DOORBELL_LIVE__TURN__URLS: '["stun:turn.example.net:3478"]',
      }),
    )
    expect(err.code).toBe('CONFIG_INVALID')
    const fields = (err.details.problems as { field: string }[]).map((p) => p.field).sort()
    expect(fields).toEqual(['live.turn.secret', 'live.turn.urls.0'])
    const ttl = configError(() =>
      loadCollectorConfig(undefined, {
        DOORBELL_LIVE__MAX_SESSION_MS: '600000',
        DOORBELL_LIVE__TURN: JSON.stringify({ secret, urls: ['turn:t.example:3478'], ttlMs: 120_000 }),
      }),
    )
    expect(ttl.message).toMatch(/live\.turn\.ttlMs: expected at least live\.maxSessionMs/)
  })

  it('takes the secret and URLs from the environment, with a default TTL', () => {
    const config = loadCollectorConfig(undefined, {
      DOORBELL_LIVE__TURN__SECRET: secret,
      DOORBELL_LIVE__TURN__URLS: '["turn:t.example:3478?transport=udp","turn:t.example:3478?transport=tcp"]',
    })
    expect(config.live.turn).toEqual({
      secret,
      urls: ['turn:t.example:3478?transport=udp', 'turn:t.example:3478?transport=tcp'],
      ttlMs: 3_600_000,
    })
  })
})

describe('turnCredentials', () => {
  const turn: TurnConfig = { secret, urls: ['turn:t.example:3478', 'turns:t.example:5349'], ttlMs: 600_000 }

  it('names the holder and the expiry in Unix seconds, one entry per URL, the same password for both', () => {
    const servers = turnCredentials(turn, 'alice', Date.UTC(2026, 11, 4, 2, 0, 0))
    const expiryS = Date.UTC(2026, 11, 4, 2, 10, 0) / 1000
    expect(servers.map((s) => s.url)).toEqual(turn.urls)
    expect(servers.every((s) => s.username === `${expiryS}:alice`)).toBe(true)
    expect(new Set(servers.map((s) => s.credential)).size).toBe(1)
    expect(
      turnCredentials({ ...turn, secret: `${secret}x` }, 'alice', Date.UTC(2026, 11, 4, 2))[0]?.credential,
    ).not.toBe(servers[0]?.credential)
  })
})

const skipReason = coturnUnavailableReason()
describe.skipIf(skipReason !== undefined)('turnCredentials against coturn (use-auth-secret)', () => {
  const dir = tempDir('turn-credentials')
  let coturn: Coturn

  beforeAll(async () => {
    coturn = await startCoturn({ ip: '127.0.0.1', relayIp: '127.0.0.1', secret, dir: dir.path })
  }, 20_000)

  afterAll(async () => {
    await coturn?.stop()
    dir.cleanup()
  })

  const config = (): TurnConfig => ({ secret, urls: [coturn.url('udp'), coturn.url('tcp')], ttlMs: 600_000 })

  // libdatachannel's TURN client (libjuice) speaks TURN over UDP; TURN over TCP is Chromium's fallback,
  // tested in test/system/live-turn-fallback.test.ts.
  it('grants a relay to credentials the collector issued', async () => {
    const [udp] = turnCredentials(config(), 'front-door', Date.now())
    expect(await relayCandidates(udp ? [udp] : [])).toHaveLength(1)
  }, 20_000)

  it('refuses credentials whose time is up', async () => {
    const issuedLongAgo = turnCredentials(config(), 'front-door', Date.now() - 700_000)
    expect(await relayCandidates(issuedLongAgo.slice(0, 1))).toEqual([])
    // Refused by coturn, not unreached: it names the user it would not accept.
    const user = `<${issuedLongAgo[0]?.username}>`
    await eventually(() => coturn.lines.some((l) => l.includes(user)), `coturn to log ${user}`, 5000)
  }, 20_000)

  it('refuses credentials made with another secret', async () => {
    const forged = turnCredentials(
      { ...config(), secret: 'not-the-shared-secret-at-all' },
      'front-door',
      Date.now(),
    )
    expect(await relayCandidates(forged.slice(0, 1))).toEqual([])
    const user = `<${forged[0]?.username}>`
    await eventually(() => coturn.lines.some((l) => l.includes(user)), `coturn to log ${user}`, 5000)
  }, 20_000)
})
