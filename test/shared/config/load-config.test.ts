import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { envPath, loadConfig } from '../../../shared/config/load-config.js'
import { thrownDoorbellError as configError } from '../../support/doorbell-error.js'

const schema = z.strictObject({
  deviceId: z.string().min(1),
  mqtt: z
    .strictObject({
      url: z.url().default('mqtt://127.0.0.1:1883'),
      password: z.string().optional(),
      keepaliveS: z.number().int().positive().default(30),
    })
    .prefault({}),
  medium: z.strictObject({ batchIntervalMs: z.number().int().positive().default(10_000) }).prefault({}),
  simulate: z.boolean().default(false),
})

const tempDirs: string[] = []
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
})

function yamlFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'doorbell-config-'))
  tempDirs.push(dir)
  const file = join(dir, 'config.yaml')
  writeFileSync(file, text)
  return file
}

describe('loadConfig', () => {
  it('reads YAML and fills defaults', () => {
    const config = loadConfig({ schema, file: yamlFile('deviceId: front-door\n') })
    expect(config).toEqual({
      deviceId: 'front-door',
      mqtt: { url: 'mqtt://127.0.0.1:1883', keepaliveS: 30 },
      medium: { batchIntervalMs: 10_000 },
      simulate: false,
    })
  })

  it('lets DOORBELL_* variables override nested fields with typed values', () => {
    const config = loadConfig({
      schema,
      file: yamlFile('deviceId: front-door\nmqtt:\n  keepaliveS: 10\n'),
      env: {
        DOORBELL_MQTT__KEEPALIVE_S: '45',
        DOORBELL_MEDIUM__BATCH_INTERVAL_MS: '2500',
        DOORBELL_SIMULATE: 'true',
        DOORBELL_CONFIG: '/ignored/path.yaml',
        HOME: '/root',
      },
    })
    expect(config.mqtt.keepaliveS).toBe(45)
    expect(config.medium.batchIntervalMs).toBe(2500)
    expect(config.simulate).toBe(true)
  })

  it('reports every bad field at once, naming each and the variable that set it', () => {
    const err = configError(() =>
      loadConfig({
        schema,
        file: yamlFile('mqtt:\n  url: not a url\n  keepaliveS: -1\nunknownField: 1\n'),
        env: { DOORBELL_MEDIUM__BATCH_INTERVAL_MS: 'soon' },
      }),
    )
    expect(err.code).toBe('CONFIG_INVALID')
    const fields = (err.details.problems as { field: string }[]).map((p) => p.field).sort()
    expect(fields).toEqual(['(root)', 'deviceId', 'medium.batchIntervalMs', 'mqtt.keepaliveS', 'mqtt.url'])
    expect(err.message).toContain('mqtt.keepaliveS')
    expect(err.message).toContain('(from DOORBELL_MEDIUM__BATCH_INTERVAL_MS)')
    expect(err.message).toContain('unknownField')
  })

  it('names a removed field under its own path with its hint, alongside the other problems', () => {
    const removedFields = { 'mqtt.password': 'removed: use the device secret file instead' }
    const withoutPassword = z.strictObject({
      deviceId: z.string().min(1),
      mqtt: z.strictObject({ keepaliveS: z.number().int().positive().default(30) }).prefault({}),
    })
    const err = configError(() =>
      loadConfig({
        schema: withoutPassword,
        file: yamlFile('deviceId: d1\nmqtt:\n  password: hunter2\n  keepaliveS: -1\n'),
        removedFields,
      }),
    )
    expect(err.details.problems).toEqual([
      { field: 'mqtt.password', message: 'removed: use the device secret file instead' },
      expect.objectContaining({ field: 'mqtt.keepaliveS' }),
    ])
    expect(err.message).not.toContain('Unrecognized key')
    const fine = loadConfig({ schema: withoutPassword, file: yamlFile('deviceId: d1\n'), removedFields })
    expect(fine.deviceId).toBe('d1')
  })

  it('freezes the result deeply', () => {
    const config = loadConfig({ schema, env: { DOORBELL_DEVICE_ID: 'd1' } })
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.mqtt)).toBe(true)
    expect(() => {
      ;(config.mqtt as { keepaliveS: number }).keepaliveS = 1
    }).toThrow(TypeError)
  })

  it('names the path of a missing or unparsable file', () => {
    const missing = configError(() => loadConfig({ schema, file: '/nonexistent/doorbell.yaml' }))
    expect(missing.code).toBe('CONFIG_UNREADABLE')
    expect(missing.message).toContain('/nonexistent/doorbell.yaml')
    const broken = configError(() => loadConfig({ schema, file: yamlFile('deviceId: [unclosed\n') }))
    expect(broken.code).toBe('CONFIG_UNREADABLE')
    const list = configError(() => loadConfig({ schema, file: yamlFile('- a\n- b\n') }))
    expect(list.message).toContain('mapping')
  })

  it('maps environment names to field paths', () => {
    expect(envPath('DOORBELL_MQTT__CA_FILE', 'DOORBELL_')).toEqual(['mqtt', 'caFile'])
    expect(envPath('DOORBELL_DATA_DIR', 'DOORBELL_')).toEqual(['dataDir'])
    expect(envPath('PATH', 'DOORBELL_')).toBeUndefined()
  })
})
