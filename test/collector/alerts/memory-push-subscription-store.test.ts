import { MemoryPushSubscriptionStore } from '../../../collector/alerts/memory-push-subscription-store.js'
import { pushSubscriptionStoreContract } from '../store/contracts/push-subscription-store.contract.js'

pushSubscriptionStoreContract('memory', {
  async create() {
    return new MemoryPushSubscriptionStore()
  },
})
