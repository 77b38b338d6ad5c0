import { FileUserSettingsStore } from '../../../collector/dashboard/file-user-settings-store.js'
import { folderHarness } from '../store/contracts/store-harness.js'
import { userSettingsStoreContract } from '../store/contracts/user-settings-store.contract.js'

userSettingsStoreContract(
  'json file',
  folderHarness('user-settings', (folder) => new FileUserSettingsStore(folder)),
)
