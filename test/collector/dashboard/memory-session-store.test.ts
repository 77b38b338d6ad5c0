import { MemorySessionStore } from '../../../collector/dashboard/memory-session-store.js'
import { sessionStoreContract } from '../store/contracts/session-store.contract.js'

sessionStoreContract('memory', {
  async create() {
    return new MemorySessionStore()
  },
})
