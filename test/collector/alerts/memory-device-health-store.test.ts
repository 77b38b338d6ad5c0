import { MemoryDeviceHealthStore } from '../../../collector/alerts/memory-device-health-store.js'
import { deviceHealthStoreContract } from '../store/contracts/device-health-store.contract.js'

deviceHealthStoreContract('memory', {
  async create() {
    return new MemoryDeviceHealthStore()
  },
})
