import { z } from 'zod'
import { JsonFileState } from '../json-file.js'

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

/**
 * Where Web Push subscriptions are kept, keyed by endpoint. Every implementation passes
 * test/collector/store/contracts/push-subscription-store.contract.ts.
 */
export interface PushSubscriptionStore {
  /** The subscriptions of one homeowner, oldest first. */
  forUser(user: string): Promise<StoredPushSubscription[]>
  /** Every subscription, oldest first. */
  all(): Promise<StoredPushSubscription[]>
  /** Adds or replaces (same endpoint, whichever user had it) a subscription. */
  add(subscription: StoredPushSubscription): Promise<void>
  /** Removes by endpoint; true when one was removed. */
  remove(endpoint: string): Promise<boolean>
}

/**
 * Subscriptions in one JSON file (`<dataDir>/alerts/push-subscriptions.json`), rewritten atomically on
 * each change. A household has a handful of browsers, so a file is enough.
 */
export class FilePushSubscriptionStore implements PushSubscriptionStore {
  readonly #state: JsonFileState<readonly StoredPushSubscription[]>

  constructor(path: string) {
    this.#state = new JsonFileState<readonly StoredPushSubscription[]>(path, {
      fromFile: (file) => {
        const subscriptions = (file as { subscriptions?: unknown } | undefined)?.subscriptions
        return Array.isArray(subscriptions) ? (subscriptions as StoredPushSubscription[]) : []
      },
      toFile: (subscriptions) => ({ subscriptions }),
    })
  }

  async forUser(user: string): Promise<StoredPushSubscription[]> {
    return (await this.#state.read()).filter((s) => s.user === user)
  }

  async all(): Promise<StoredPushSubscription[]> {
    return [...(await this.#state.read())]
  }

  async add(subscription: StoredPushSubscription): Promise<void> {
    await this.#state.change((items) => [
      ...items.filter((s) => s.endpoint !== subscription.endpoint),
      subscription,
    ])
  }

  async remove(endpoint: string): Promise<boolean> {
    const { before, after } = await this.#state.change((items) =>
      items.some((s) => s.endpoint === endpoint) ? items.filter((s) => s.endpoint !== endpoint) : undefined,
    )
    return after.length < before.length
  }
}
