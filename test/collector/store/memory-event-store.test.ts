import { MemoryEventData, MemoryEventStore } from '../../../collector/store/memory-event-store.js'
import { eventStoreContract } from './contracts/event-store.contract.js'

let data = new MemoryEventData()

eventStoreContract('memory', {
  async create() {
    data = new MemoryEventData()
    return new MemoryEventStore(data)
  },
  async reopen() {
    return new MemoryEventStore(data)
  },
})
