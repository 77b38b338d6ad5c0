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
    const err = configError(() =>
      loadCollectorConfig(undefined, {
        DOORBELL_LIMITS__SESSIONS__MAX_PER_IDENTITY: '0',
        DOORBELL_HTTP__METRICS_ACCESS: 'everyone',
      }),
    )
    const fields = (err.details.problems as { field: string }[]).map((p) => p.field).sort()
    expect(fields).toEqual(['http.metricsAccess', 'limits.sessions.maxPerIdentity'])
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
})
