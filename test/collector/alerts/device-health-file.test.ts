import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { FileDeviceHealthStore } from '../../../collector/alerts/device-health-file.js'
import type { DeviceHealthRecord } from '../../../collector/alerts/device-health-monitor.js'
import { isDoorbellError } from '../../../shared/errors.js'
import { tempDir } from '../collector-harness.js'

const records: DeviceHealthRecord[] = [
  {
    deviceId: 'front-door',
    isOnline: false,
    lastSeenMs: 1_000,
    offlineSinceMs: 181_000,
    health: {
      uptimeS: 5,
      version: '0.1.0',
      cpuTempC: 45,
      diskFreeBytes: 10_000,
      outbox: { high: 0, medium: 2, low: 1 },
      outboxBytes: 300,
      wifiRssiDbm: -50,
    },
    lastHealthMs: 900,
  },
  {
    deviceId: 'side-door',
    isOnline: true,
    lastSeenMs: null,
    offlineSinceMs: null,
    health: null,
    lastHealthMs: null,
  },
]

describe('FileDeviceHealthStore', () => {
  let cleanup: (() => void) | undefined
  afterEach(() => cleanup?.())

  function storeIn(): { store: FileDeviceHealthStore; dir: string } {
    const dir = tempDir('health-file')
    cleanup = dir.cleanup
    return { store: new FileDeviceHealthStore(join(dir.path, 'alerts', 'device-health.json')), dir: dir.path }
  }

  it('loads nothing, without an error, when no state was saved yet', () => {
    expect(storeIn().store.load()).toEqual({ records: [] })
  })

  it('loads what it saved, creating the folder, and leaves no temp file behind', () => {
    const { store, dir } = storeIn()
    store.save(records, Date.parse('2026-01-02T03:04:05.000Z'))
    expect(store.load()).toEqual({ records })
    expect(readdirSync(join(dir, 'alerts'))).toEqual(['device-health.json'])
    expect(JSON.parse(readFileSync(store.path, 'utf8'))).toMatchObject({
      version: 1,
      savedAt: '2026-01-02T03:04:05.000Z',
    })
  })

  it.each([
    ['a torn write', '{"version":1,"savedAt":"x","devi'],
    ['an empty file', ''],
    ['another version', JSON.stringify({ version: 2, savedAt: 'x', devices: [] })],
    [
      'a record of the wrong shape',
      JSON.stringify({ version: 1, savedAt: 'x', devices: [{ deviceId: 'front-door', isOnline: 'yes' }] }),
    ],
  ])('ignores %s and says why (HEALTH_STATE_INVALID)', (_what, text) => {
    const { store, dir } = storeIn()
    mkdirSync(join(dir, 'alerts'))
    writeFileSync(store.path, text)
    const loaded = store.load()
    expect(loaded.records).toEqual([])
    expect(isDoorbellError(loaded.err, 'HEALTH_STATE_INVALID')).toBe(true)
    expect(loaded.err?.message).toContain(store.path)
    store.save(records, 0)
    expect(store.load()).toEqual({ records })
  })
})
