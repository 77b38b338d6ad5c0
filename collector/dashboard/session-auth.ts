import cookie from '@fastify/cookie'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isSameSecret } from '../http/http-auth.js'
import type { DashboardSessions } from './dashboard-sessions.js'
import type { HomeownerRole } from './homeowner-store.js'
import type { Homeowners } from './homeowners.js'
import type { Session } from './session-store.js'

/** Name of the session cookie (HttpOnly, SameSite=Strict, Secure unless plain HTTP on loopback). */
export const sessionCookieName = 'doorbell_session'

const unsafeMethods = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]', '::1'])

/** The session attached to a request by the hook below. */
const sessions = new WeakMap<FastifyRequest, Session>()

/** The logged-in homeowner of a request, if any. */
export function sessionOf(request: FastifyRequest): Session | undefined {
  return sessions.get(request)
}

/** True when the cookie may drop the Secure flag: plain HTTP to a loopback host (tests, local use). */
export function isCookieInsecureOk(request: FastifyRequest): boolean {
  return request.protocol === 'http' && loopbackHosts.has(request.hostname.replace(/:\d+$/, ''))
}

/**
 * Session and CSRF handling. Every request with a session cookie gets its session attached. An
 * unsafe request (POST/PUT/PATCH/DELETE) that rides on the cookie must carry the session's CSRF token in
 * `x-csrf-token` (synchronizer token) and, when the browser sends Origin, a same-host Origin; the cookie is
 * SameSite=Strict on top. Requests authenticated by a bearer token carry no ambient credential, so they
 * need neither. A session counts only while its account exists, with the account's current role.
 */
export async function registerSessionAuth(
  app: FastifyInstance,
  store: DashboardSessions,
  homeowners: Homeowners,
): Promise<void> {
  await app.register(cookie)
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin
    if (unsafeMethods.has(request.method) && origin && !isSameOrigin(origin, request.headers.host)) {
      return reply.code(403).send({ error: 'cross-origin request refused' })
    }
    const found = await store.get(request.cookies[sessionCookieName])
    // The account may have been removed, demoted or given a new password since login (doorbell-admin).
    const standing = found ? await homeowners.standing(found.user) : undefined
    if (!found || !standing || standing.passwordChangedAtMs > found.createdAtMs) return
    const session = { ...found, role: standing.role }
    if (unsafeMethods.has(request.method) && request.url !== '/api/login') {
      const given = request.headers['x-csrf-token']
      if (typeof given !== 'string' || !isSameSecret(given, session.csrfToken)) {
        return reply.code(403).send({ error: 'missing or wrong x-csrf-token' })
      }
    }
    sessions.set(request, session)
  })
}

function isSameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return new URL(origin).host === host
  } catch {
    return false
  }
}

/** A preHandler that requires a session with at least the given role (owner > viewer). */
export function requireRole(role: HomeownerRole) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const session = sessionOf(request)
    if (!session) {
      await reply.code(401).send({ error: 'log in first' })
      return
    }
    if (role === 'owner' && session.role !== 'owner')
      await reply.code(403).send({ error: 'owner role required' })
  }
}
