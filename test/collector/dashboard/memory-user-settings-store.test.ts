import { MemoryUserSettingsStore } from '../../../collector/dashboard/memory-user-settings-store.js'
import { userSettingsStoreContract } from '../store/contracts/user-settings-store.contract.js'

userSettingsStoreContract('memory', {
  async create() {
    return new MemoryUserSettingsStore()
  },
})
