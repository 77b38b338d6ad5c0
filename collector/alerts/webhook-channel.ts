import { createHmac, timingSafeEqual } from 'node:crypto'
import { type Alert, alertJson } from './alert.js'
import { type Channel, httpDeliveryError, postWithTimeout, type Recipient } from './channel.js'

/** Header carrying the signature: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const signatureHeader = 'x-doorbell-signature'

/** The signature header value for a body signed at unix time tS (docs/alerts.md, "Webhook signature"). */
export function signWebhook(secret: string, body: string, tS: number): string {
  const mac = createHmac('sha256', secret).update(`${tS}.${body}`).digest('hex')
  return `t=${tS},v1=${mac}`
}

/**
 * Verifies a signature header as a receiver should: constant-time compare, and a timestamp within
 * toleranceS of nowS so a captured request cannot be replayed later.
 */
export function verifyWebhook(
  secret: string,
  body: string,
  header: string | undefined,
  nowS: number,
  toleranceS = 300,
): boolean {
  if (!header) return false
  const fields = new Map(header.split(',').map((part) => part.split('=', 2) as [string, string]))
  const tS = Number(fields.get('t'))
  const given = fields.get('v1') ?? ''
  if (!Number.isInteger(tS) || Math.abs(nowS - tS) > toleranceS || !/^[0-9a-f]{64}$/.test(given)) return false
  const expected = createHmac('sha256', secret).update(`${tS}.${body}`).digest()
  return timingSafeEqual(expected, Buffer.from(given, 'hex'))
}

/** Settings of one webhook. */
export interface WebhookChannelOptions {
  readonly name: string
  readonly url: string
  readonly secret: string
  readonly timeoutMs: number
  readonly nowMs?: () => number
}

/** Header carrying a fleet's delivery key (`<alertId>:<channel>:<recipient>`), the same on every attempt. */
export const deliveryKeyHeader = 'x-doorbell-delivery'

/**
 * The delivery key again under the name the IETF HTTP APIs working group gives it (the Idempotency-Key
 * header, a structured-field string), so a receiver that already drops repeated requests by that header
 * drops a fleet's second copy without knowing this collector.
 */
export const idempotencyKeyHeader = 'idempotency-key'

/** A structured-field string (RFC 8941 sf-string): quoted, with backslash and quote escaped. */
function sfString(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`
}

/** Generic webhook: a JSON POST of the alert, signed with HMAC-SHA256. */
export class HttpWebhookChannel implements Channel {
  readonly kind = 'webhook'
  readonly name: string
  readonly #options: WebhookChannelOptions

  constructor(options: WebhookChannelOptions) {
    this.name = options.name
    this.#options = options
  }

  async send(alert: Alert, recipient: Recipient, deliveryKey?: string): Promise<void> {
    const body = JSON.stringify({ ...alertJson(alert), recipient: recipient.name })
    const tS = Math.floor((this.#options.nowMs ?? Date.now)() / 1000)
    const response = await postWithTimeout(
      this.name,
      this.#options.url,
      {
        headers: {
          'content-type': 'application/json',
          [signatureHeader]: signWebhook(this.#options.secret, body, tS),
          'x-doorbell-alert-id': alert.id,
          ...(deliveryKey
            ? { [deliveryKeyHeader]: deliveryKey, [idempotencyKeyHeader]: sfString(deliveryKey) }
            : {}),
        },
        body,
      },
      this.#options.timeoutMs,
    )
    if (!response.ok) throw httpDeliveryError(this.name, response.status)
  }
}
