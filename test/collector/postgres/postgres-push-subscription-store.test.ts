import { describe, expect, it } from 'vitest'
import { PostgresPushSubscriptionStore } from '../../../collector/postgres/postgres-push-subscription-store.js'
import { pushSubscriptionStoreContract } from '../store/contracts/push-subscription-store.contract.js'
import { databaseHarness, usePostgresSuite } from './postgres-suite.js'

const suite = usePostgresSuite()

pushSubscriptionStoreContract(
  'postgres',
  databaseHarness(suite, (_url, db) => new PostgresPushSubscriptionStore(db)),
)

describe('PostgresPushSubscriptionStore across nodes', () => {
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
    expect(await (nodes[1] as PostgresPushSubscriptionStore).forUser('alice')).toHaveLength(3)
  })
})
