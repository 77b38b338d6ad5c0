import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { FileDiscoveryStateStore } from '../../../collector/alerts/discovery-state-file.js'
import { isDoorbellError } from '../../../shared/errors.js'
import { tempDir } from '../collector-harness.js'

describe('FileDiscoveryStateStore', () => {
  let cleanup: (() => void) | undefined
  afterEach(() => cleanup?.())

  function storeIn(): FileDiscoveryStateStore {
    const dir = tempDir('discovery-state')
    cleanup = dir.cleanup
    return new FileDiscoveryStateStore(join(dir.path, 'alerts', 'home-assistant-discovery.json'))
  }

  it('loads nothing and no error when the file does not exist yet', () => {
    const loaded = storeIn().load()
    expect([...loaded.devices]).toEqual([])
    expect(loaded.err).toBeUndefined()
  })

  it('reads back what it saved, sorted by device id', () => {
    const store = storeIn()
    store.save(
      new Map([
        ['side-door', 'withdrawn'],
        ['front-door', 'announced'],
      ]),
    )
    expect([...store.load().devices]).toEqual([
      ['front-door', 'announced'],
      ['side-door', 'withdrawn'],
    ])
    expect(JSON.parse(readFileSync(store.path, 'utf8')).version).toBe(1)
  })

  it.each([
    ['text that is not JSON', '{"version":'],
    ['an unknown status', '{"version":1,"devices":[{"deviceId":"a","status":"gone"}]}'],
    ['a bad device id', '{"version":1,"devices":[{"deviceId":"a/b","status":"announced"}]}'],
  ])('ignores %s and says why (DISCOVERY_STATE_INVALID)', (_what, text) => {
    const store = storeIn()
    store.save(new Map())
    writeFileSync(store.path, text)
    const loaded = store.load()
    expect([...loaded.devices]).toEqual([])
    expect(isDoorbellError(loaded.err, 'DISCOVERY_STATE_INVALID')).toBe(true)
  })
})
