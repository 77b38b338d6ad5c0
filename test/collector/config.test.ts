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
