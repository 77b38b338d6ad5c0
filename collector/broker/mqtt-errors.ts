/** aedes' own conditions: reported elsewhere (connect_timeout) or not bad input. */
const notInputErrors = new Set([
  'keep alive timeout',
  'connect did not arrive in time',
  'Client queue limit reached',
])

/**
 * True for a packet the MQTT parser refused: a plain Error. Socket errors carry a code, refused
 * logins a CONNACK returnCode (counted as auth_*), and aedes' timers are not input.
 */
export function isParserError(err: Error & { code?: unknown; returnCode?: unknown }): boolean {
  return err.code === undefined && err.returnCode === undefined && !notInputErrors.has(err.message)
}
