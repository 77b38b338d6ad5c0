import { join } from 'node:path'
import { FileUserSettingsStore } from '../../../collector/dashboard/user-settings-store.js'
import { tempDir } from '../collector-harness.js'
import { userSettingsStoreContract } from '../store/contracts/user-settings-store.contract.js'

const dir = tempDir('user-settings')
let current = ''
let made = 0

userSettingsStoreContract('json file', {
  async create() {
    made += 1
    current = join(dir.path, String(made))
    return new FileUserSettingsStore(current)
  },
  async reopen() {
    return new FileUserSettingsStore(current)
  },
  async close() {
    dir.cleanup()
  },
})
