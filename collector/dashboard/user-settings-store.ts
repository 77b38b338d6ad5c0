import { z } from 'zod'
import { alertKinds, channelName, quietHoursSchema, timeZone } from '../alerts/alerts-config.js'

/** What a homeowner may change on the settings page (the rest of an alert user stays in config). */
export const userSettingsSchema = z.strictObject({
  channels: z.array(channelName).max(16),
  kinds: z.array(z.enum(alertKinds)),
  quietHours: quietHoursSchema.nullable(),
  /** The zone the dashboard shows times in; null: the browser's own. Quiet hours without a zone use it. */
  timeZone: timeZone.nullable().optional(),
})

/** Settings a homeowner saved from the dashboard. */
export type UserSettings = z.output<typeof userSettingsSchema>

/**
 * Where the settings homeowners save from the dashboard are kept, by user name; alert-user-settings.ts
 * lays them over the config. Every implementation passes
 * test/collector/store/contracts/user-settings-store.contract.ts.
 */
export interface UserSettingsStore {
  /** Every user's saved settings. */
  all(): Promise<Record<string, UserSettings>>
  /** Saves (replaces) one user's settings. */
  set(name: string, settings: UserSettings): Promise<void>
  /**
   * Calls onChange whenever settings may have changed elsewhere (another node of a fleet saved); a store
   * that only this process writes has no such method. Resolves once it listens.
   */
  watch?(onChange: () => void): Promise<void>
}
