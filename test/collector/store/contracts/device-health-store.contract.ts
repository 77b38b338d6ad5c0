import { afterAll, describe, expect, it } from 'vitest'
import type { DeviceHealthRecord } from '../../../../collector/alerts/device-health-monitor.js'
import type { DeviceHealthStore } from '../../../../collector/alerts/device-health-store.js'
import type { StoreHarness } from './store-harness.js'

/** Two devices: one offline with a health report, one online never heard from. */
export const healthRecords: DeviceHealthRecord[] = [
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

/** The contract every DeviceHealthStore passes (the aedes-persistence abstract-suite pattern). */
export function deviceHealthStoreContract(name: string, harness: StoreHarness<DeviceHealthStore>): void {
  describe(`DeviceHealthStore contract: ${name}`, () => {
    afterAll(async () => {
      await harness.close?.()
    })

    it('loads no records and no error before the first save', async () => {
      expect(await (await harness.create()).load()).toEqual({ records: [] })
    })

    it('loads what was saved last: a save replaces, it does not merge', async () => {
      const store = await harness.create()
      await store.save(healthRecords, Date.UTC(2026, 0, 2))
      expect(await store.load()).toEqual({ records: healthRecords })
      await store.save(healthRecords.slice(1), Date.UTC(2026, 0, 3))
      expect(await store.load()).toEqual({ records: healthRecords.slice(1) })
    })

    it('lands saves made at once in call order, each as it was when saved', async () => {
      const store = await harness.create()
      const records = structuredClone(healthRecords)
      const first = store.save(records, 1)
      ;(records[1] as { lastSeenMs: number | null }).lastSeenMs = 99
      const second = store.save(healthRecords.slice(0, 1), 2)
      await Promise.all([first, second])
      expect(await store.load()).toEqual({ records: healthRecords.slice(0, 1) })
    })

    it.skipIf(!harness.reopen)('keeps the records across a reopen', async () => {
      const store = await harness.create()
      await store.save(healthRecords, 5)
      const reopened = await (harness.reopen as () => Promise<DeviceHealthStore>)()
      expect(await reopened.load()).toEqual({ records: healthRecords })
    })
  })
}
