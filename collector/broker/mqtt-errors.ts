import type { Client } from 'aedes'

/**
 * True for a packet aedes' MQTT parser refused (malformed_packet); the front door
 * (mqtt-packet-limiter.ts) refuses most malformed packets before they reach it. aedes hands the parser's error object on
 * unchanged (lib/client.js: `this._parser.on('error', ...)`), and mqtt-packet keeps the error it emitted
 * as `parser.error`, so this is an identity check: no message text is read. Socket errors, refused logins,
 * aedes' timers and its queue limit are other objects.
 */
export function isMalformedPacket(client: Client, err: Error): boolean {
  const parser = (client as unknown as { readonly _parser?: { readonly error?: unknown } })._parser
  return parser?.error === err
}

/** What aedes 1.2 says when a connection sent no CONNECT within connectTimeout (lib/client.js). */
const connectTimeoutMessage = 'connect did not arrive in time'

/**
 * True for aedes' connect timer. The one decision on a message in the collector: aedes creates this
 * error as a plain Error with no code, property or event of its own to tell it by.
 * test/collector/broker/mqtt-errors.test.ts fails if an aedes upgrade changes the text.
 */
export function isConnectTimeout(err: Error): boolean {
  return err.message === connectTimeoutMessage
}
