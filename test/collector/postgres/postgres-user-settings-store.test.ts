import { describe, expect, it } from 'vitest'
import type { AlertUser } from '../../../collector/alerts/alerts-config.js'
import { AlertUserSettings } from '../../../collector/dashboard/alert-user-settings.js'
import type { PostgresDatabase } from '../../../collector/postgres/postgres-database.js'
import { PostgresUserSettingsStore } from '../../../collector/postgres/postgres-user-settings-store.js'
import { eventually } from '../../support/eventually.js'
import { userSettingsStoreContract } from '../store/contracts/user-settings-store.contract.js'
import { databaseHarness, usePostgresSuite } from './postgres-suite.js'

const suite = usePostgresSuite()
const opened: PostgresUserSettingsStore[] = []
const closeAll = async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()))
}

function open(url: string, db: PostgresDatabase, reconnectMs = 100): PostgresUserSettingsStore {
  const store = new PostgresUserSettingsStore(db, { url, nodeId: `node-${opened.length}`, reconnectMs })
  opened.push(store)
  return store
}

userSettingsStoreContract('postgres', databaseHarness(suite, open, closeAll))

const users: AlertUser[] = [{ name: 'alice', channels: ['phone'], kinds: ['press'], cooldownMs: 0 }]

describe('PostgresUserSettingsStore across nodes', () => {
  it("applies settings saved on one node to the other node's alert users, without a restart", async () => {
    const url = await suite.freshDatabase()
    const [a, b] = [open(url, await suite.connect(url)), open(url, await suite.connect(url))]
    const onNodeA = await AlertUserSettings.open(a, users)
    const onNodeB = await AlertUserSettings.open(b, users)
    const quietHours = { start: '00:00', end: '23:59', timeZone: 'UTC', allowKinds: [] }
    await onNodeA.set('alice', { channels: ['hook'], kinds: ['press'], quietHours })
    await eventually(() => onNodeB.get('alice').channels[0] === 'hook', 'node B hears the save')
    expect(onNodeB.users()).toEqual([
      { name: 'alice', channels: ['hook'], kinds: ['press'], cooldownMs: 0, quietHours },
    ])
    await closeAll()
  })

  it('reads the settings again after its listener was cut off, so a save made meanwhile is not missed', async () => {
    const url = await suite.freshDatabase()
    const a = open(url, await suite.connect(url))
    const b = open(url, await suite.connect(url), 1500)
    const onNodeB = await AlertUserSettings.open(b, users)
    const db = await suite.connect(url)
    const cut = await db.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'doorbell-settings node-1'",
    )
    expect(cut.rowCount).toBe(1)
    // Saved while node B's listener is away (it waits 1.5 s to reconnect): no notification reaches it.
    await a.set('alice', { channels: ['hook'], kinds: ['press'], quietHours: null })
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(onNodeB.get('alice').channels).toEqual(['phone'])
    await eventually(() => onNodeB.get('alice').channels[0] === 'hook', 'node B reads it again', 10_000)
    await closeAll()
  })
})
