import { describe, expect, it } from 'vitest'
import { PostgresDeviceObservations } from '../../../collector/postgres/postgres-device-observations.js'
import type { PayloadOf } from '../../../shared/protocol/index.js'
import { usePostgresSuite } from './postgres-suite.js'

const health = (uptimeS: number): PayloadOf<'health'> => ({
  uptimeS,
  version: '1.0.0',
  cpuTempC: null,
  diskFreeBytes: 1e9,
  outbox: { high: 0, medium: 0, low: 0 },
  outboxBytes: 0,
  wifiRssiDbm: null,
})

describe('PostgresDeviceObservations', () => {
  const suite = usePostgresSuite()

  it('keeps the latest of each field whatever order two nodes write in, and reads changes since a time', async () => {
    const url = await suite.freshDatabase()
    const nodeA = new PostgresDeviceObservations(await suite.connect(url))
    const nodeB = new PostgresDeviceObservations(await suite.connect(url))
    await nodeA.write([
      { deviceId: 'porch', lastSeenMs: 5000, presence: { state: 'offline', atMs: 4000 } },
      { deviceId: 'gate', lastSeenMs: 100 },
    ])
    // Node B heard older news of porch's last-seen time but a newer status, and a health payload.
    await nodeB.write([
      {
        deviceId: 'porch',
        lastSeenMs: 3000,
        presence: { state: 'online', atMs: 4500 },
        health: { payload: health(7), atMs: 3000 },
      },
    ])
    await nodeA.write([{ deviceId: 'porch', health: { payload: health(1), atMs: 2000 } }])
    const all = await nodeA.changedSince(undefined, 0)
    const porch = all.rows.find((row) => row.deviceId === 'porch')
    expect(porch).toEqual({
      deviceId: 'porch',
      lastSeenMs: 5000,
      presence: { state: 'online', atMs: 4500 },
      health: { payload: health(7), atMs: 3000 },
    })
    expect(all.rows.map((row) => row.deviceId).sort()).toEqual(['gate', 'porch'])
    const quiet = await nodeA.changedSince(all.next, 0)
    expect(quiet.rows).toEqual([])
    await nodeB.write([{ deviceId: 'gate', lastSeenMs: 200 }])
    const changed = await nodeA.changedSince(quiet.next, 0)
    expect(changed.rows.map((row) => [row.deviceId, row.lastSeenMs])).toEqual([['gate', 200]])
  })
})
