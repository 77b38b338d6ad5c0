import { MemoryHomeownerStore } from '../../../collector/dashboard/memory-homeowner-store.js'
import { homeownerStoreContract } from '../store/contracts/homeowner-store.contract.js'

homeownerStoreContract('memory', {
  async create() {
    return new MemoryHomeownerStore()
  },
})
