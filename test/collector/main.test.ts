import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { isDoorbellError } from '../../shared/errors.js'
import { run, startCollector, tempDir, testConfig } from './collector-harness.js'

const mainJs = join(import.meta.dirname, '..', '..', 'dist', 'collector', 'main.js')

describe('doorbell-collector entry point', () => {
  const dir = tempDir('collector-main')
  afterAll(() => dir.cleanup())

  it('prints usage with --help', async () => {
    const result = await run(process.execPath, [mainJs, '--help'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('--config FILE')
  })

  it('exits 1 naming every bad config field', async () => {
    const file = join(dir.path, 'bad.yaml')
    writeFileSync(file, 'mqtt:\n  port: 99999\nretentionDays:\n  low: -1\n')
    const result = await run(process.execPath, [mainJs, '--config', file])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('CONFIG_INVALID')
    expect(result.stderr).toContain('mqtt.port')
    expect(result.stderr).toContain('retentionDays.low')
  })

  it('refuses a data folder already opened by another collector with STORE_OPEN_FAILED', async () => {
    const first = await startCollector(testConfig(dir.path, { http: { port: null } }))
    try {
      const second = startCollector(testConfig(dir.path, { http: { port: null } }))
      await expect(second).rejects.toSatisfy((err: unknown) => isDoorbellError(err, 'STORE_OPEN_FAILED'))
    } finally {
      await first.close()
    }
  })
})
