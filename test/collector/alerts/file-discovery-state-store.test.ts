import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { FileDiscoveryStateStore } from '../../../collector/alerts/file-discovery-state-store.js'
import { isDoorbellError } from '../../../shared/errors.js'
import { tempDir } from '../collector-harness.js'
import { discoveryStateStoreContract } from '../store/contracts/discovery-state-store.contract.js'
import { folderHarness } from '../store/contracts/store-harness.js'

discoveryStateStoreContract(
  'json file',
  folderHarness(
    'discovery-state-contract',
    (folder) => new FileDiscoveryStateStore(join(folder, 'alerts', 'home-assistant-discovery.json')),
  ),
)

describe('FileDiscoveryStateStore', () => {
  let cleanup: (() => void) | undefined
  afterEach(() => cleanup?.())

  function storeIn(): FileDiscoveryStateStore {
    const dir = tempDir('discovery-state')
    cleanup = dir.cleanup
    return new FileDiscoveryStateStore(join(dir.path, 'alerts', 'home-assistant-discovery.json'))
  }

  it('writes version 1 with the devices sorted by id', async () => {
    const store = storeIn()
    await store.save(
      new Map([
        ['side-door', 'withdrawn'],
        ['front-door', 'announced'],
      ]),
    )
    expect(JSON.parse(readFileSync(store.path, 'utf8'))).toEqual({
      version: 1,
      devices: [
        { deviceId: 'front-door', status: 'announced' },
        { deviceId: 'side-door', status: 'withdrawn' },
      ],
    })
  })

  it.each([
    ['text that is not JSON', '{"version":'],
    ['an unknown status', '{"version":1,"devices":[{"deviceId":"a","status":"gone"}]}'],
    ['a bad device id', '{"version":1,"devices":[{"deviceId":"a/b","status":"announced"}]}'],
  ])('ignores %s and says why (DISCOVERY_STATE_INVALID)', async (_what, text) => {
    const store = storeIn()
    await store.save(new Map())
    writeFileSync(store.path, text)
    const loaded = await store.load()
    expect([...loaded.devices]).toEqual([])
    expect(isDoorbellError(loaded.err, 'DISCOVERY_STATE_INVALID')).toBe(true)
  })
})
