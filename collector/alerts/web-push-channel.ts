import type { Agent as HttpsAgent } from 'node:https'
import webPush from 'web-push'
import { type Alert, alertJson } from './alert.js'
import { type Channel, DeliveryError, httpDeliveryError, postWithTimeout, type Recipient } from './channel.js'
import {
  PrivateAddressError,
  type PublicHttpsPoolOptions,
  postToPublicHttps,
  publicHttpsAgent,
} from './public-endpoint.js'
import type { PushSubscriptionStore, StoredPushSubscription } from './push-subscription-store.js'

/** Settings of the Web Push channel. */
export interface WebPushChannelOptions {
  readonly name: string
  readonly vapid: { readonly subject: string; readonly publicKey: string; readonly privateKey: string }
  readonly ttlS: number
  readonly timeoutMs: number
  /** Connections kept to push services between sends (public endpoints only). */
  readonly connections: PublicHttpsPoolOptions
  readonly subscriptions: PushSubscriptionStore
  /**
   * `public`: endpoints must be https on public addresses, checked again at each send (DNS can change);
   * `any`: also http on loopback and private addresses (a local stand-in push service).
   */
  readonly endpoints: 'public' | 'any'
  /** A send was refused because its endpoint is not https on a public address; nothing was sent. */
  readonly onEndpointRefused?: (subscription: StoredPushSubscription) => void
  /** A subscription was deleted because the push service said it is gone (404/410). */
  readonly onSubscriptionGone?: (subscription: StoredPushSubscription, status: number) => void
}

/**
 * Web Push (RFC 8030) with an aes128gcm payload (RFC 8291) and VAPID (RFC 8292). The web-push package
 * encrypts and signs (generateRequestDetails); the request itself goes through fetch, so it honours our
 * time limit and also reaches an http:// push service (the test's local stand-in). The alert's tag is the
 * RFC 8030 Topic, so a pending press is replaced by its enrichment, and the service worker shows it with
 * the same notification tag.
 */
export class WebPushChannel implements Channel {
  readonly kind = 'webpush'
  readonly name: string
  readonly #options: WebPushChannelOptions
  readonly #agent: HttpsAgent | undefined

  constructor(options: WebPushChannelOptions) {
    this.name = options.name
    this.#options = options
    this.#agent = options.endpoints === 'public' ? publicHttpsAgent(options.connections) : undefined
  }

  async close(): Promise<void> {
    this.#agent?.destroy()
  }

  async send(alert: Alert, recipient: Recipient): Promise<void> {
    const subscriptions = await this.#options.subscriptions.forUser(recipient.name)
    const payload = JSON.stringify(alertJson(alert))
    // Every endpoint at once, each with its own time limit: a user's dead browsers cost one timeout, not
    // one each.
    const results = await Promise.allSettled(subscriptions.map((s) => this.#sendOne(s, payload, alert)))
    const failures = results.flatMap((result) =>
      result.status === 'fulfilled'
        ? []
        : [
            result.reason instanceof DeliveryError
              ? result.reason
              : new DeliveryError(`${this.name}: ${(result.reason as Error).message}`, {
                  isRetryable: false,
                  cause: result.reason,
                }),
          ],
    )
    if (failures.length === 0) return
    // Retry when any subscription may still succeed; the same Topic/tag makes a repeat replace, not add.
    const retryable = failures.find((f) => f.isRetryable)
    throw retryable ?? failures[0]
  }

  async #sendOne(subscription: StoredPushSubscription, payload: string, alert: Alert): Promise<void> {
    const details = webPush.generateRequestDetails(
      { endpoint: subscription.endpoint, keys: subscription.keys },
      payload,
      {
        vapidDetails: this.#options.vapid,
        TTL: this.#options.ttlS,
        contentEncoding: 'aes128gcm',
        urgency: alert.priority >= 5 ? 'high' : 'normal',
        // RFC 8030 5.4: at most 32 URL-safe base64 characters; a ULID is 26.
        topic: alert.tag.slice(0, 32),
      },
    )
    const headers: Record<string, string> = {}
    for (const [key, value] of Object.entries(details.headers)) headers[key] = String(value)
    delete headers['Content-Length']
    const body = details.body ?? new Uint8Array()
    const response =
      this.#options.endpoints === 'any'
        ? await postWithTimeout(this.name, details.endpoint, { headers, body }, this.#options.timeoutMs)
        : await this.#postToPublic(subscription, details.endpoint, { headers, body })
    if (response.status === 404 || response.status === 410) {
      await this.#options.subscriptions.remove(subscription.endpoint)
      this.#options.onSubscriptionGone?.(subscription, response.status)
      return
    }
    if (response.status < 200 || response.status > 299) throw httpDeliveryError(this.name, response.status)
  }

  async #postToPublic(
    subscription: StoredPushSubscription,
    endpoint: string,
    init: { headers: Record<string, string>; body: string | Uint8Array },
  ): Promise<{ status: number }> {
    try {
      return await postToPublicHttps(endpoint, init, this.#options.timeoutMs, this.#agent)
    } catch (err) {
      if (err instanceof PrivateAddressError) {
        this.#options.onEndpointRefused?.(subscription)
        throw new DeliveryError(`${this.name}: ${err.message}`, { isRetryable: false, cause: err })
      }
      throw new DeliveryError(`${this.name}: ${(err as Error).message}`, { isRetryable: true, cause: err })
    }
  }
}
