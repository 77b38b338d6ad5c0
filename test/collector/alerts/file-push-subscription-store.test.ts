import { join } from 'node:path'
import { FilePushSubscriptionStore } from '../../../collector/alerts/push-subscription-store.js'
import { tempDir } from '../collector-harness.js'
import { pushSubscriptionStoreContract } from '../store/contracts/push-subscription-store.contract.js'

const dir = tempDir('push-subscriptions')
let path = ''
let made = 0

pushSubscriptionStoreContract('json file', {
  async create() {
    made += 1
    path = join(dir.path, String(made), 'alerts', 'push-subscriptions.json')
    return new FilePushSubscriptionStore(path)
  },
  async reopen() {
    return new FilePushSubscriptionStore(path)
  },
  async close() {
    dir.cleanup()
  },
})
