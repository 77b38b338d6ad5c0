import { type AlertUser, alertKinds } from '../alerts/alerts-config.js'
import type { UserSettings, UserSettingsStore } from './user-settings-store.js'

/**
 * The alert users as the alert service sees them: the config's users with the settings saved from the
 * dashboard laid over them; a dashboard user with no config entry gets one with the config defaults. The
 * alert service reads users() on every alert, so it is answered from memory, loaded once at start
 * (open) and updated by each save, which applies at once.
 */
export class AlertUserSettings {
  readonly #store: UserSettingsStore
  readonly #configUsers: readonly AlertUser[]
  #byUser: Record<string, UserSettings>

  private constructor(
    store: UserSettingsStore,
    configUsers: readonly AlertUser[],
    byUser: Record<string, UserSettings>,
  ) {
    this.#store = store
    this.#configUsers = configUsers
    this.#byUser = byUser
  }

  /** Loads the saved settings. */
  static async open(store: UserSettingsStore, configUsers: readonly AlertUser[]): Promise<AlertUserSettings> {
    return new AlertUserSettings(store, configUsers, await store.all())
  }

  /** The alert users as the alert service should see them now. */
  users(): AlertUser[] {
    const merged = new Map(this.#configUsers.map((u) => [u.name, u]))
    for (const [name, saved] of Object.entries(this.#byUser)) {
      const base: AlertUser = merged.get(name) ?? {
        name,
        channels: [],
        kinds: [...alertKinds],
        cooldownMs: 30_000,
      }
      const { quietHours, ...rest } = base
      merged.set(name, { ...rest, ...settingsFields(saved) })
    }
    return [...merged.values()]
  }

  /** One user's current settings (saved, or from config, or the defaults). */
  get(name: string): UserSettings {
    const user = this.users().find((u) => u.name === name)
    return {
      channels: [...(user?.channels ?? [])],
      kinds: [...(user?.kinds ?? alertKinds)],
      quietHours: user?.quietHours ?? null,
      timeZone: this.#byUser[name]?.timeZone ?? null,
    }
  }

  /** Saves a user's settings; they apply once saved. */
  async set(name: string, settings: UserSettings): Promise<void> {
    await this.#store.set(name, settings)
    this.#byUser = { ...this.#byUser, [name]: settings }
  }
}

function settingsFields(saved: UserSettings): Pick<AlertUser, 'channels' | 'kinds' | 'quietHours'> {
  return {
    channels: saved.channels,
    kinds: saved.kinds,
    ...(saved.quietHours ? { quietHours: withZone(saved.quietHours, saved.timeZone) } : {}),
  }
}

/** Quiet hours saved without a zone are counted in the zone the user's settings show times in. */
function withZone(
  quietHours: NonNullable<UserSettings['quietHours']>,
  timeZone: string | null | undefined,
): NonNullable<UserSettings['quietHours']> {
  if (quietHours.timeZone || !timeZone) return quietHours
  return { ...quietHours, timeZone }
}
