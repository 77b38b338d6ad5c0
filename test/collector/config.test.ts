import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadCollectorConfig } from '../../collector/config.js'
import { thrownDoorbellError as configError } from '../support/doorbell-error.js'
import { tempDir } from './collector-harness.js'

describe('collector config', () => {
  const dir = tempDir('collector-config')
  afterAll(() => dir.cleanup())

  it('refuses the removed alerts.apiToken, naming it and pointing at http.apiToken, with the other problems', () => {
    const file = join(dir.path, 'old.yaml')
    writeFileSync(file, 'alerts:\n  apiToken: operator-token-0123456789\nretentionDays:\n  low: -1\n')
    const err = configError(() => loadCollectorConfig(file, {}))
    expect(err.code).toBe('CONFIG_INVALID')
    const problems = err.details.problems as { field: string; message: string }[]
    expect(problems.map((p) => p.field).sort()).toEqual(['alerts.apiToken', 'retentionDays.low'])
    expect(problems.find((p) => p.field === 'alerts.apiToken')?.message).toContain(
      'use http.apiToken instead',
    )
    expect(err.message).toMatch(/alerts\.apiToken: removed: use http\.apiToken instead/)
  })

  it('names the variable when the removed field comes from the environment', () => {
    const err = configError(() =>
      loadCollectorConfig(undefined, { DOORBELL_ALERTS__API_TOKEN: 'operator-token-0123456789' }),
    )
    expect(err.message).toContain('alerts.apiToken')
    expect(err.message).toContain('(from DOORBELL_ALERTS__API_TOKEN)')
  })

  it('takes the one operator token from http.apiToken', () => {
    const config = loadCollectorConfig(undefined, { DOORBELL_HTTP__API_TOKEN: 'operator-token-0123456789' })
    expect(config.http.apiToken).toBe('operator-token-0123456789')
    expect(config.alerts).not.toHaveProperty('apiToken')
  })

  it('has a default for every front-door limit and names the field of a bad one', () => {
    const config = loadCollectorConfig(undefined, {})
    expect(config.limits.login).toMatchObject({ freeFailures: 5, baseBackoffMs: 1000, maxBackoffMs: 60_000 })
    expect(config.limits.preAuth).toEqual({
      maxBytesPerConnection: 16 * 1024,
      maxTotalBytes: 8 * 1024 * 1024,
      maxConnectionsPerAddress: 64,
    })
    expect(config.limits.sessions).toEqual({
      maxPerIdentity: 4,
      maxQueuedMessages: 100,
      offlineExpiryMs: 7 * 86_400_000,
    })
    expect(config.http).toMatchObject({ metricsAccess: 'operator', openApiAccess: 'operator' })
    expect(config.mqtt.listenBacklog).toBe(4096)
    const err = configError(() =>
      loadCollectorConfig(undefined, {
        DOORBELL_LIMITS__SESSIONS__MAX_PER_IDENTITY: '0',
        DOORBELL_HTTP__METRICS_ACCESS: 'everyone',
        DOORBELL_MQTT__LISTEN_BACKLOG: '0',
      }),
    )
    const fields = (err.details.problems as { field: string }[]).map((p) => p.field).sort()
    expect(fields).toEqual(['http.metricsAccess', 'limits.sessions.maxPerIdentity', 'mqtt.listenBacklog'])
  })

  it('refuses a quiet-hours time zone Intl does not know, naming the field', () => {
    const file = join(dir.path, 'tz.yaml')
    writeFileSync(
      file,
      'alerts:\n  users:\n    - name: alice\n      quietHours: { start: "22:00", end: "07:00", timeZone: Mars/Olympus }\n',
    )
    const err = configError(() => loadCollectorConfig(file, {}))
    const problems = err.details.problems as { field: string; message: string }[]
    expect(problems.map((p) => p.field)).toEqual(['alerts.users.0.quietHours.timeZone'])
  })

  it('keeps push service connections by default and names a bad connections setting', () => {
    const vapid =
      'vapid: { subject: mailto:a@example.org, publicKey: "' +
      'B'.repeat(87) +
      '", privateKey: "' +
      'k'.repeat(43) +
      '" }'
    const good = join(dir.path, 'push-good.yaml')
    writeFileSync(good, `alerts:\n  channels:\n    - { kind: webpush, name: push, ${vapid} }\n`)
    const channel = loadCollectorConfig(good, {}).alerts.channels[0]
    expect(channel?.kind === 'webpush' && channel.connections).toEqual({ maxPerHost: 16, idleMs: 60_000 })
    const bad = join(dir.path, 'push-bad.yaml')
    writeFileSync(
      bad,
      `alerts:\n  channels:\n    - { kind: webpush, name: push, ${vapid}, connections: { maxPerHost: 0 } }\n`,
    )
    const err = configError(() => loadCollectorConfig(bad, {}))
    const problems = err.details.problems as { field: string }[]
    expect(problems.map((p) => p.field)).toEqual(['alerts.channels.0.connections.maxPerHost'])
  })
})

describe('collector config: store engine and fleet engines', () => {
  const problemsOf = (env: Record<string, string>): Record<string, string> => {
    const err = configError(() => loadCollectorConfig(undefined, env))
    expect(err.code).toBe('CONFIG_INVALID')
    const problems = err.details.problems as { field: string; message: string }[]
    return Object.fromEntries(problems.map((p) => [p.field, p.message]))
  }

  it('stores in embedded Level by default, with no PostgreSQL or Redis', () => {
    const config = loadCollectorConfig(undefined, {})
    expect(config.store.engine).toBe('level')
    expect(config.store.isSyncWrite).toBe(true)
    expect(config.postgres.url).toBeUndefined()
    expect(config.redis.url).toBeUndefined()
  })

  it('takes store: postgres as the short form of store.engine, with both URLs', () => {
    const dir = tempDir('collector-config-fleet')
    try {
      const file = join(dir.path, 'fleet.yaml')
      writeFileSync(
        file,
        'store: postgres\npostgres:\n  url: postgres://doorbell:pw@db:5432/doorbell\nredis:\n  url: redis://redis:6379\n',
      )
      const config = loadCollectorConfig(file, {})
      expect(config.store).toMatchObject({ engine: 'postgres', isSyncWrite: true, maxBatchEvents: 2000 })
      expect(config.postgres).toMatchObject({
        url: 'postgres://doorbell:pw@db:5432/doorbell',
        maxConnections: 10,
      })
      expect(config.redis.url).toBe('redis://redis:6379')
    } finally {
      dir.cleanup()
    }
  })

  it('takes the engine and both URLs from the environment', () => {
    const config = loadCollectorConfig(undefined, {
      DOORBELL_STORE__ENGINE: 'postgres',
      DOORBELL_POSTGRES__URL: 'postgresql://db/doorbell',
      DOORBELL_REDIS__URL: 'rediss://:pw@redis:6380/2',
    })
    expect(config.store.engine).toBe('postgres')
    expect(config.postgres.url).toBe('postgresql://db/doorbell')
  })

  it('names postgres.url and redis.url when store is postgres without them, beside other problems', () => {
    const problems = problemsOf({ DOORBELL_STORE__ENGINE: 'postgres', DOORBELL_RETENTION_DAYS__LOW: '-1' })
    expect(Object.keys(problems).sort()).toEqual(['postgres.url', 'redis.url', 'retentionDays.low'])
    expect(problems['postgres.url']).toMatch(/required when store.engine is postgres/)
    expect(problems['redis.url']).toMatch(/required when store.engine is postgres/)
  })

  it('names the field of a bad URL, with the scheme it expects', () => {
    const problems = problemsOf({
      DOORBELL_STORE__ENGINE: 'postgres',
      DOORBELL_POSTGRES__URL: 'mysql://db/doorbell',
      DOORBELL_REDIS__URL: 'not a url',
    })
    expect(problems['postgres.url']).toMatch(/scheme postgres or postgresql/)
    expect(problems['redis.url']).toMatch(/scheme redis or rediss/)
  })

  it('names redis.uplinkInterestTtlMs when it is too short to be renewed in time', () => {
    const problems = problemsOf({
      DOORBELL_STORE__ENGINE: 'postgres',
      DOORBELL_POSTGRES__URL: 'postgres://db/doorbell',
      DOORBELL_REDIS__URL: 'redis://redis:6379',
      DOORBELL_REDIS__UPLINK_INTEREST_TTL_MS: '10',
    })
    expect(Object.keys(problems)).toEqual(['redis.uplinkInterestTtlMs'])
  })

  it('refuses an unknown engine, naming store.engine', () => {
    expect(Object.keys(problemsOf({ DOORBELL_STORE__ENGINE: 'mysql' }))).toEqual(['store.engine'])
  })

  it('refuses fleet URLs on the Level store, where they would do nothing', () => {
    const problems = problemsOf({ DOORBELL_REDIS__URL: 'redis://redis:6379' })
    expect(Object.keys(problems)).toEqual(['redis.url'])
    expect(problems['redis.url']).toMatch(/only with store.engine postgres/)
  })
})
