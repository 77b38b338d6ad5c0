import { type AlertUser, alertKinds } from '../alerts/alerts-config.js'
import type { UserSettings, UserSettingsStore } from './user-settings-store.js'

/**
 * The alert users as the alert service sees them: the config's users with the settings saved from the
 * dashboard laid over them; a dashboard user with no config entry gets one with the config defaults. The
 * alert service reads users() on every alert, so it is answered from memory, loaded once at start
 * (open) and updated by each save, which applies at once. When the store hears of saves made elsewhere
 * (a fleet's other nodes), the memory is read again from the store.
 */
export class AlertUserSettings {
  readonly #store: UserSettingsStore
  readonly #configUsers: readonly AlertUser[]
  #byUser: Record<string, UserSettings>
  /** Bumped by each read and save: an older read that ends late does not overwrite newer settings. */
  #generation = 0

  private constructor(
    store: UserSettingsStore,
    configUsers: readonly AlertUser[],
    byUser: Record<string, UserSettings>,
  ) {
    this.#store = store
    this.#configUsers = configUsers
    this.#byUser = byUser
  }

  /**
   * Loads the saved settings, and follows saves made elsewhere when the store can tell of them; onError
   * hears a read again that failed (the next change or resync tries again).
   */
  static async open(
    store: UserSettingsStore,
    configUsers: readonly AlertUser[],
    onError: (err: Error) => void = () => {},
  ): Promise<AlertUserSettings> {
    const settings = new AlertUserSettings(store, configUsers, await store.all())
    await store.watch?.(() => {
      settings.reload().catch(onError)
    })
    // Saves made between the first read and the start of listening were not heard.
    if (store.watch) await settings.reload()
    return settings
  }

  /** Reads every user's settings again from the store. */
  async reload(): Promise<void> {
    const generation = ++this.#generation
    const byUser = await this.#store.all()
    if (generation === this.#generation) this.#byUser = byUser
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
    this.#generation += 1
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
