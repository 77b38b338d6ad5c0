import type { UserSettings, UserSettingsStore } from './user-settings-store.js'

/** Saved settings in memory, lost with the process: the simulated store, for tests. */
export class MemoryUserSettingsStore implements UserSettingsStore {
  #byUser: Record<string, UserSettings> = {}

  async all(): Promise<Record<string, UserSettings>> {
    return structuredClone(this.#byUser)
  }

  async set(name: string, settings: UserSettings): Promise<void> {
    this.#byUser = { ...this.#byUser, [name]: structuredClone(settings) }
  }
}
