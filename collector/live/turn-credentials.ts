import { createHmac } from 'node:crypto'
import { z } from 'zod'
import type { LiveIceServer } from '../../shared/protocol/index.js'

/**
 * TURN beside the collector (coturn with `use-auth-secret` and `static-auth-secret`, docs/live.md): the
 * collector and coturn share a secret, and the collector hands each browser and device time-limited
 * credentials for one session, the "TURN REST API" scheme: the user name is `<expiry, Unix s>:<who>`, the
 * password base64(HMAC-SHA1(secret, user name)). coturn checks both without asking the collector, and
 * refuses a user name whose expiry has passed.
 */
export const turnConfigSchema = z.strictObject({
  /** coturn's `static-auth-secret`; at least 16 characters (`openssl rand -hex 24`). */
  secret: z.string().min(16, 'expected at least 16 characters (openssl rand -hex 24)'),
  /**
   * TURN URLs given out with the credentials, e.g. `turn:turn.example.net:3478?transport=udp`,
   * `turn:turn.example.net:3478?transport=tcp` (the fallback when UDP is blocked), `turns:...:5349`.
   */
  urls: z
    .array(
      z
        .string()
        .max(256)
        .regex(/^turns?:[^\s]+$/, 'expected a turn: or turns: URL'),
    )
    .min(1)
    .max(3),
  /** How long credentials stay valid, ms; at least the longest session (`live.maxSessionMs`). */
  ttlMs: z
    .number()
    .int()
    .min(60_000)
    .max(7 * 24 * 3_600_000)
    .default(3_600_000),
})

/** Validated TURN settings. */
export type TurnConfig = z.output<typeof turnConfigSchema>

/** Longest `who` part of a TURN user name (the protocol allows 128 characters for the whole name). */
const maxWhoLength = 96

/**
 * Credentials for one holder (a homeowner's name, a device id) valid until now + ttlMs, one entry per URL.
 * coturn reads the expiry before the first ':', so the rest may contain anything but is kept short.
 */
export function turnCredentials(turn: TurnConfig, who: string, nowMs: number): LiveIceServer[] {
  const expiryS = Math.floor((nowMs + turn.ttlMs) / 1000)
  const username = `${expiryS}:${who.slice(0, maxWhoLength)}`
  const credential = createHmac('sha1', turn.secret).update(username).digest('base64')
  return turn.urls.map((url) => ({ url, username, credential }))
}

/** The configured STUN/TURN servers, with TURN credentials for `who` (a homeowner or a device). */
export function iceServersFor(
  live: { readonly iceServers: readonly LiveIceServer[]; readonly turn?: TurnConfig | undefined },
  who: string,
  nowMs: number,
): LiveIceServer[] {
  return [...live.iceServers, ...(live.turn ? turnCredentials(live.turn, who, nowMs) : [])]
}
