import { MemoryDiscoveryStateStore } from '../../../collector/alerts/memory-discovery-state-store.js'
import { discoveryStateStoreContract } from '../store/contracts/discovery-state-store.contract.js'

discoveryStateStoreContract('memory', {
  async create() {
    return new MemoryDiscoveryStateStore()
  },
})
