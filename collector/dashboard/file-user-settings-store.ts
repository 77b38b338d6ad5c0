import { join } from 'node:path'
import { JsonFileState } from '../json-file.js'
import type { UserSettings, UserSettingsStore } from './user-settings-store.js'

/** Saved settings in `<dataDir>/dashboard/user-settings.json`, rewritten atomically on each save. */
export class FileUserSettingsStore implements UserSettingsStore {
  readonly #state: JsonFileState<Readonly<Record<string, UserSettings>>>

  constructor(dataDir: string) {
    this.#state = new JsonFileState(join(dataDir, 'dashboard', 'user-settings.json'), {
      fromFile: (file) => (file as { users?: Record<string, UserSettings> } | undefined)?.users ?? {},
      toFile: (users) => ({ users }),
    })
  }

  async all(): Promise<Record<string, UserSettings>> {
    return { ...(await this.#state.read()) }
  }

  async set(name: string, settings: UserSettings): Promise<void> {
    await this.#state.change((byUser) => ({ ...byUser, [name]: settings }))
  }
}
