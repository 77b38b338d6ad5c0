import type { Alert } from './alert.js'

/** Why a delivery failed, and whether trying again can help. */
export class DeliveryError extends Error {
  readonly isRetryable: boolean
  readonly status?: number

  constructor(message: string, options: { isRetryable: boolean; status?: number; cause?: unknown }) {
    super(message, options.cause === undefined ? {} : { cause: options.cause })
    this.name = 'DeliveryError'
    this.isRetryable = options.isRetryable
    if (options.status !== undefined) this.status = options.status
  }
}

/** Who an alert is for: a homeowner by name, or the operator. */
export interface Recipient {
  readonly name: string
  readonly isOperator: boolean
}

/**
 * A delivery channel (webhook, ntfy, web push). send() delivers one alert to one recipient and rejects
 * with a DeliveryError; the pipeline owns retries, backoff and the dead-letter record. deliveryKey, when
 * given (a fleet's outbox), is the same for every attempt of one delivery from any node, so a receiver
 * can drop a second copy.
 */
export interface Channel {
  readonly name: string
  readonly kind: string
  send(alert: Alert, recipient: Recipient, deliveryKey?: string): Promise<void>
  close?(): Promise<void>
}

/** A DeliveryError for an HTTP status: 408, 429 and 5xx are worth retrying, other 4xx are not. */
export function httpDeliveryError(channel: string, status: number): DeliveryError {
  const isRetryable = status === 408 || status === 429 || status >= 500
  return new DeliveryError(`${channel}: HTTP ${status}`, { isRetryable, status })
}

/**
 * POSTs with a time limit; network errors and timeouts are retryable DeliveryErrors. A redirect is never
 * followed: its 3xx comes back as the answer (not retried), so a channel URL cannot be bounced elsewhere.
 */
export async function postWithTimeout(
  channel: string,
  url: string,
  init: { headers: Record<string, string>; body: string | Uint8Array },
  timeoutMs: number,
): Promise<Response> {
  let response: Response
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: init.headers,
      body: init.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    })
  } catch (err) {
    throw new DeliveryError(`${channel}: ${(err as Error).message}`, { isRetryable: true, cause: err })
  }
  // Drain the body so the connection is reused.
  await response.arrayBuffer().catch(() => undefined)
  return response
}
