import { join } from 'node:path'
import { FilePushSubscriptionStore } from '../../../collector/alerts/file-push-subscription-store.js'
import { pushSubscriptionStoreContract } from '../store/contracts/push-subscription-store.contract.js'
import { folderHarness } from '../store/contracts/store-harness.js'

pushSubscriptionStoreContract(
  'json file',
  folderHarness(
    'push-subscriptions',
    (folder) => new FilePushSubscriptionStore(join(folder, 'alerts', 'push-subscriptions.json')),
  ),
)
