import { z } from 'zod'

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

/** Options of an add. */
export interface AddSubscriptionOptions {
  /** Most subscriptions the user may hold; the oldest beyond it are removed with this add. */
  readonly maxPerUser?: number
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
  /**
   * Adds or replaces (same endpoint, whichever user had it) a subscription; the subscriptions it removed
   * to stay within maxPerUser, oldest first.
   */
  add(
    subscription: StoredPushSubscription,
    options?: AddSubscriptionOptions,
  ): Promise<StoredPushSubscription[]>
  /** Removes by endpoint; true when one was removed. */
  remove(endpoint: string): Promise<boolean>
}

/** The list after adding subscription, and what was removed to keep the user within maxPerUser. */
export function withSubscription(
  items: readonly StoredPushSubscription[],
  subscription: StoredPushSubscription,
  maxPerUser = Number.POSITIVE_INFINITY,
): { items: StoredPushSubscription[]; evicted: StoredPushSubscription[] } {
  const kept = [...items.filter((s) => s.endpoint !== subscription.endpoint), subscription]
  const own = kept.filter((s) => s.user === subscription.user)
  const evicted = own.slice(0, Math.max(0, own.length - maxPerUser))
  return { items: kept.filter((s) => !evicted.includes(s)), evicted }
}
