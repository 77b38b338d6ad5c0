import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { FileDeviceHealthStore } from '../../../collector/alerts/file-device-health-store.js'
import { isDoorbellError } from '../../../shared/errors.js'
import { tempDir } from '../collector-harness.js'
import {
  deviceHealthStoreContract,
  healthRecords as records,
} from '../store/contracts/device-health-store.contract.js'
import { folderHarness } from '../store/contracts/store-harness.js'

deviceHealthStoreContract(
  'json file',
  folderHarness(
    'health-file-contract',
    (folder) => new FileDeviceHealthStore(join(folder, 'alerts', 'device-health.json')),
  ),
)

describe('FileDeviceHealthStore', () => {
  let cleanup: (() => void) | undefined
  afterEach(() => cleanup?.())

  function storeIn(): { store: FileDeviceHealthStore; dir: string } {
    const dir = tempDir('health-file')
    cleanup = dir.cleanup
    return { store: new FileDeviceHealthStore(join(dir.path, 'alerts', 'device-health.json')), dir: dir.path }
  }

  it('loads what it saved, creating the folder, and leaves no temp file behind', async () => {
    const { store, dir } = storeIn()
    await store.save(records, Date.parse('2026-01-02T03:04:05.000Z'))
    expect(await store.load()).toEqual({ records })
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
  ])('ignores %s and says why (HEALTH_STATE_INVALID)', async (_what, text) => {
    const { store, dir } = storeIn()
    mkdirSync(join(dir, 'alerts'))
    writeFileSync(store.path, text)
    const loaded = await store.load()
    expect(loaded.records).toEqual([])
    expect(isDoorbellError(loaded.err, 'HEALTH_STATE_INVALID')).toBe(true)
    expect(loaded.err?.message).toContain(store.path)
    await store.save(records, 0)
    expect(await store.load()).toEqual({ records })
  })
})
