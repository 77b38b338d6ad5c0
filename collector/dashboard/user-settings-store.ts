import { join } from 'node:path'
import { z } from 'zod'
import { type AlertUser, alertKinds, timeZone } from '../alerts/alerts-config.js'
import { readJsonFile, writeJsonFile } from '../json-file.js'

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM (24 h)')

/** What a homeowner may change on the settings page (the rest of an alert user stays in config). */
export const userSettingsSchema = z.strictObject({
  channels: z.array(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/)).max(16),
  kinds: z.array(z.enum(alertKinds)),
  quietHours: z
    .strictObject({
      start: hhmm,
      end: hhmm,
      timeZone: timeZone.optional(),
      allowKinds: z.array(z.enum(alertKinds)).default([]),
    })
    .nullable(),
  /** The zone the dashboard shows times in; null: the browser's own. Quiet hours without a zone use it. */
  timeZone: timeZone.nullable().default(null),
})

/** Settings a homeowner saved from the dashboard. */
export type UserSettings = z.output<typeof userSettingsSchema>

/**
 * Notification settings saved from the dashboard, in `<dataDir>/dashboard/user-settings.json`, laid over
 * the config's alert users: the alert service reads `users()` on every alert, so a change applies at once.
 * A dashboard user with no config entry gets one with the config defaults.
 */
export class FileUserSettingsStore {
  readonly #path: string
  readonly #configUsers: readonly AlertUser[]
  #byUser: Record<string, UserSettings>

  constructor(dataDir: string, configUsers: readonly AlertUser[]) {
    this.#path = join(dataDir, 'dashboard', 'user-settings.json')
    this.#configUsers = configUsers
    this.#byUser = readJsonFile<{ users: Record<string, UserSettings> }>(this.#path, { users: {} }).users
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

  /** Saves a user's settings. */
  set(name: string, settings: UserSettings): void {
    this.#byUser = { ...this.#byUser, [name]: settings }
    writeJsonFile(this.#path, { users: this.#byUser })
  }
}

function settingsFields(saved: UserSettings): Pick<AlertUser, 'channels' | 'kinds' | 'quietHours'> {
  return {
    channels: saved.channels,
    kinds: saved.kinds,
    ...(saved.quietHours ? { quietHours: withZone(saved.quietHours, saved.timeZone) } : {}),
  }
}

function withZone(
  quietHours: NonNullable<UserSettings['quietHours']>,
  timeZone: string | null | undefined,
): NonNullable<UserSettings['quietHours']> {
  if (quietHours.timeZone || !timeZone) return quietHours
  return { ...quietHours, timeZone }
}
