import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { Session } from '../dashboard/session-store.js'
import type { HomeownerRole } from './principal.js'

/** Name of the session cookie (HttpOnly, SameSite=Strict, Secure unless plain HTTP on loopback). */
export const sessionCookieName = 'doorbell_session'

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]', '::1'])

/** Looks up the live session of a cookie token (the dashboard's session store). */
export interface SessionLookup {
  get(token: string | undefined): Promise<Session | undefined>
}

/** The account behind a session as it is now: it may have been demoted or removed since login. */
export interface HomeownerStandingLookup {
  standing(
    name: string,
  ): Promise<{ readonly role: HomeownerRole; readonly passwordChangedAtMs: number } | undefined>
}

/** Constant-time comparison of two secrets of any length (hashes first, so lengths do not leak). */
export function isSameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

/**
 * True when the request carries `Authorization: Bearer <token>` with the operator's one token
 * (`http.apiToken`). Without a configured token nobody is the operator.
 */
export function isOperatorBearer(request: FastifyRequest, token: string | undefined): boolean {
  const header = request.headers.authorization
  if (!token || !header?.startsWith('Bearer ')) return false
  return isSameSecret(header.slice('Bearer '.length), token)
}

/**
 * The session a request's cookie belongs to, with the account's current role; undefined when there is
 * none, it expired, or the account was removed or given a new password since (doorbell-admin).
 */
export async function sessionFromCookie(
  token: string | undefined,
  sessions: SessionLookup,
  homeowners: HomeownerStandingLookup,
): Promise<Session | undefined> {
  const found = await sessions.get(token)
  const standing = found ? await homeowners.standing(found.user) : undefined
  if (!found || !standing || standing.passwordChangedAtMs > found.createdAtMs) return undefined
  return { ...found, role: standing.role }
}

/** True when the cookie may drop the Secure flag: plain HTTP to a loopback host (tests, local use). */
export function isCookieInsecureOk(request: FastifyRequest): boolean {
  return request.protocol === 'http' && loopbackHosts.has(request.hostname.replace(/:\d+$/, ''))
}

/** True when a browser's Origin header names the host the request was sent to. */
export function isSameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return new URL(origin).host === host
  } catch {
    return false
  }
}
