import { afterAll, describe, expect, it } from 'vitest'
import type {
  DiscoveryStateStore,
  DiscoveryStatus,
} from '../../../../collector/alerts/discovery-state-store.js'
import type { StoreHarness } from './store-harness.js'

/** The contract every DiscoveryStateStore passes (the aedes-persistence abstract-suite pattern). */
export function discoveryStateStoreContract(name: string, harness: StoreHarness<DiscoveryStateStore>): void {
  describe(`DiscoveryStateStore contract: ${name}`, () => {
    afterAll(async () => {
      await harness.close?.()
    })

    it('loads no devices and no error before the first save', async () => {
      const loaded = await (await harness.create()).load()
      expect([...loaded.devices]).toEqual([])
      expect(loaded.err).toBeUndefined()
    })

    it('loads what was saved last: a save replaces, it does not merge', async () => {
      const store = await harness.create()
      await store.save(
        new Map<string, DiscoveryStatus>([
          ['side-door', 'withdrawn'],
          ['front-door', 'announced'],
        ]),
      )
      expect(new Map((await store.load()).devices)).toEqual(
        new Map([
          ['front-door', 'announced'],
          ['side-door', 'withdrawn'],
        ]),
      )
      await store.save(new Map([['back-door', 'announced']]))
      expect([...(await store.load()).devices]).toEqual([['back-door', 'announced']])
    })

    it('lands saves made at once in call order, and keeps a map changed after its save as saved', async () => {
      const store = await harness.create()
      const devices = new Map<string, DiscoveryStatus>([['a', 'announced']])
      const first = store.save(devices)
      devices.set('a', 'withdrawn')
      devices.set('b', 'announced')
      const second = store.save(new Map([['c', 'withdrawn']]))
      devices.set('d', 'announced')
      await Promise.all([first, second])
      expect([...(await store.load()).devices]).toEqual([['c', 'withdrawn']])
    })

    it.skipIf(!harness.reopen)('keeps the state across a reopen', async () => {
      const store = await harness.create()
      await store.save(new Map([['front-door', 'withdrawn']]))
      const reopened = await (harness.reopen as () => Promise<DiscoveryStateStore>)()
      expect([...(await reopened.load()).devices]).toEqual([['front-door', 'withdrawn']])
    })
  })
}
