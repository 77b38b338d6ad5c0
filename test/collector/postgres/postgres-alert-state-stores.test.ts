import { describe, expect, it } from 'vitest'
import type { DeadLetter } from '../../../collector/alerts/dead-letter-log.js'
import { AlertUserSettings } from '../../../collector/dashboard/alert-user-settings.js'
import { PostgresDeadLetterLog } from '../../../collector/postgres/postgres-dead-letter-log.js'
import { PostgresDiscoveryStateStore } from '../../../collector/postgres/postgres-discovery-state-store.js'
import { PostgresPushSubscriptionStore } from '../../../collector/postgres/postgres-push-subscription-store.js'
import { PostgresUserSettingsStore } from '../../../collector/postgres/postgres-user-settings-store.js'
import { eventually } from '../../support/eventually.js'
import { deadLetterLogContract } from '../store/contracts/dead-letter-log.contract.js'
import { discoveryStateStoreContract } from '../store/contracts/discovery-state-store.contract.js'
import { pushSubscriptionStoreContract } from '../store/contracts/push-subscription-store.contract.js'
import type { StoreHarness } from '../store/contracts/store-harness.js'
import { userSettingsStoreContract } from '../store/contracts/user-settings-store.contract.js'
import { type PostgresSuite, usePostgresSuite } from './postgres-suite.js'

/* The four small stores of a fleet share one PostgreSQL server: each starts in a few seconds here. */

const suite = usePostgresSuite()
const settingsStores: PostgresUserSettingsStore[] = []

/** create(): a fresh database; reopen(): a new pool on it, as another node or a restarted one opens it. */
function databaseHarness<T>(open: (url: string, suite: PostgresSuite) => Promise<T>): StoreHarness<T> {
  let url = ''
  return {
    async create() {
      url = await suite.freshDatabase()
      return open(url, suite)
    },
    reopen: () => open(url, suite),
    async close() {
      await Promise.all(settingsStores.splice(0).map((store) => store.close()))
    },
  }
}

function settingsStore(url: string, db: Awaited<ReturnType<PostgresSuite['connect']>>) {
  const store = new PostgresUserSettingsStore(db, { url, nodeId: `test-${settingsStores.length}` })
  settingsStores.push(store)
  return store
}

userSettingsStoreContract(
  'postgres',
  databaseHarness(async (url, s) => settingsStore(url, await s.connect(url))),
)
pushSubscriptionStoreContract(
  'postgres',
  databaseHarness(async (url, s) => new PostgresPushSubscriptionStore(await s.connect(url))),
)
deadLetterLogContract(
  'postgres',
  databaseHarness(async (url, s) => new PostgresDeadLetterLog(await s.connect(url))),
)
discoveryStateStoreContract(
  'postgres',
  databaseHarness(async (url, s) => new PostgresDiscoveryStateStore(await s.connect(url))),
)

describe('PostgreSQL stores shared by the nodes of a fleet', () => {
  it("applies settings saved on one node to the other node's alert users, without a restart", async () => {
    const url = await suite.freshDatabase()
    const [a, b] = [
      settingsStore(url, await suite.connect(url)),
      settingsStore(url, await suite.connect(url)),
    ]
    const users = [{ name: 'alice', channels: ['phone'], kinds: ['press' as const], cooldownMs: 0 }]
    const onNodeA = await AlertUserSettings.open(a, users)
    const onNodeB = await AlertUserSettings.open(b, users)
    const quietHours = { start: '00:00', end: '23:59', timeZone: 'UTC', allowKinds: [] }
    await onNodeA.set('alice', { channels: ['hook'], kinds: ['press'], quietHours })
    await eventually(async () => onNodeB.get('alice').channels[0] === 'hook', 'node B hears the save')
    expect(onNodeB.users()).toEqual([
      { name: 'alice', channels: ['hook'], kinds: ['press'], cooldownMs: 0, quietHours },
    ])
    await Promise.all([a.close(), b.close()])
  })

  it('keeps a user within maxPerUser when two nodes add subscriptions at the same moment', async () => {
    const url = await suite.freshDatabase()
    const nodes = [
      new PostgresPushSubscriptionStore(await suite.connect(url)),
      new PostgresPushSubscriptionStore(await suite.connect(url)),
    ]
    await Promise.all(
      Array.from({ length: 10 }, (_, n) =>
        nodes[n % 2]?.add(
          {
            user: 'alice',
            endpoint: `https://push.example.org/alice/${n}`,
            keys: { p256dh: 'k', auth: 'a' },
            createdAtMs: n,
          },
          { maxPerUser: 3 },
        ),
      ),
    )
    expect(await (nodes[0] as PostgresPushSubscriptionStore).forUser('alice')).toHaveLength(3)
  })

  it('refuses a dead letter with POSTGRES_UNAVAILABLE while the database is down, and keeps the earlier ones', async () => {
    const url = await suite.freshDatabase()
    const log = new PostgresDeadLetterLog(await suite.connect(url))
    const letter: DeadLetter = {
      atMs: 1,
      channel: 'hook',
      recipient: 'alice',
      attempts: 3,
      error: 'HTTP 500',
      alert: {
        id: '01J0000000000000000000000A',
        tag: '01J0000000000000000000000A',
        kind: 'press',
        eventClass: 'high',
        title: 'Doorbell',
        body: 'Someone is at the door.',
        priority: 5,
        tags: [],
        capturedAtMs: 1,
        isUpdate: false,
      },
    }
    await log.append(letter)
    await suite.engine.stop()
    try {
      await expect(log.append({ ...letter, atMs: 2 })).rejects.toMatchObject({ code: 'POSTGRES_UNAVAILABLE' })
    } finally {
      await suite.engine.start()
    }
    await eventually(async () => (await log.list().catch(() => [])).length === 1, 'the log readable again')
    expect(await log.list()).toEqual([letter])
  })
})
