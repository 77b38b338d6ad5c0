import { z } from 'zod'
import { readJsonFile, writeJsonFile } from '../json-file.js'

/** A browser's PushSubscription (its toJSON()), as the dashboard's service worker sends it. */
export const pushSubscriptionSchema = z.strictObject({
  /** Push services are https; plain http only on loopback (a local stand-in, as in the tests). */
  endpoint: z
    .url()
    .max(2048)
    .refine((url) => {
      const parsed = new URL(url)
      return (
        parsed.protocol === 'https:' ||
        (parsed.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(parsed.hostname))
      )
    }, 'expected an https push service endpoint'),
  expirationTime: z.number().nullable().optional(),
  keys: z.strictObject({
    /** The user agent's P-256 public key, uncompressed, base64url (65 bytes). */
    p256dh: z.string().regex(/^[A-Za-z0-9_-]{86,88}={0,2}$/),
    /** The 16-byte authentication secret, base64url. */
    auth: z.string().regex(/^[A-Za-z0-9_-]{22,24}={0,2}$/),
  }),
})

/** A subscription and the homeowner it belongs to. */
export interface StoredPushSubscription {
  readonly user: string
  readonly endpoint: string
  readonly keys: { readonly p256dh: string; readonly auth: string }
  readonly createdAtMs: number
}

/** Where Web Push subscriptions are kept. */
export interface PushSubscriptionStore {
  forUser(user: string): readonly StoredPushSubscription[]
  all(): readonly StoredPushSubscription[]
  /** Adds or replaces (same endpoint) a subscription. */
  add(subscription: StoredPushSubscription): void
  /** Removes by endpoint; true when one was removed. */
  remove(endpoint: string): boolean
}

/**
 * Subscriptions in one JSON file (`<dataDir>/alerts/push-subscriptions.json`), rewritten atomically
 * (temp file + rename) on each change. A household has a handful of browsers, so a file is enough.
 */
export class FilePushSubscriptionStore implements PushSubscriptionStore {
  readonly #path: string
  #items: StoredPushSubscription[]

  constructor(path: string) {
    this.#path = path
    this.#items = FilePushSubscriptionStore.#read(path)
  }

  static #read(path: string): StoredPushSubscription[] {
    const value = readJsonFile<{ subscriptions?: StoredPushSubscription[] }>(path, {})
    return Array.isArray(value.subscriptions) ? value.subscriptions : []
  }

  forUser(user: string): readonly StoredPushSubscription[] {
    return this.#items.filter((s) => s.user === user)
  }

  all(): readonly StoredPushSubscription[] {
    return this.#items
  }

  add(subscription: StoredPushSubscription): void {
    this.#items = [...this.#items.filter((s) => s.endpoint !== subscription.endpoint), subscription]
    this.#write()
  }

  remove(endpoint: string): boolean {
    const before = this.#items.length
    this.#items = this.#items.filter((s) => s.endpoint !== endpoint)
    if (this.#items.length === before) return false
    this.#write()
    return true
  }

  #write(): void {
    writeJsonFile(this.#path, { subscriptions: this.#items })
  }
}
