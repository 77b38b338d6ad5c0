import cookie from '@fastify/cookie'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { DoorbellError } from '../../shared/errors.js'
import type { Session } from '../dashboard/session-store.js'
import {
  type HomeownerStandingLookup,
  isOperatorBearer,
  isSameOrigin,
  isSameSecret,
  type SessionLookup,
  sessionCookieName,
  sessionFromCookie,
} from './http-credentials.js'
import { isGranted, isOperatorPermission, type RouteRule } from './permissions.js'
import type { HttpPrincipal } from './principal.js'
import { type RoutePermissions, routePermissions } from './route-permissions.js'

/** What the HTTP access hook needs. */
export interface HttpAccessDeps {
  /** The operator's bearer token (`http.apiToken`); unset, nobody is the operator. */
  readonly apiToken: string | undefined
  readonly sessions: SessionLookup
  readonly homeowners: HomeownerStandingLookup
  /** The route table; default route-permissions.ts. */
  readonly routes?: RoutePermissions
}

const unsafeMethods = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const sessions = new WeakMap<FastifyRequest, Session>()
const principals = new WeakMap<FastifyRequest, HttpPrincipal>()

/** The logged-in homeowner's session of a request, if any. */
export function sessionOf(request: FastifyRequest): Session | undefined {
  return sessions.get(request)
}

/** Who a request to a guarded route is: the session's homeowner, or the operator. */
export function principalOf(request: FastifyRequest): HttpPrincipal | undefined {
  return principals.get(request)
}

/**
 * The one access check of every HTTP route, registered before any route. Each route's need comes from the
 * route table; a route that is not in it fails to register (ROUTE_UNGUARDED). On every request:
 *
 * 1. an unsafe request (POST/PUT/PATCH/DELETE) whose Origin names another host is refused (403);
 * 2. a session cookie attaches its session, and an unsafe request riding on it must carry the session's
 *    CSRF token in `x-csrf-token` (synchronizer token; the cookie is SameSite=Strict on top). A bearer
 *    token is no ambient credential, so it needs neither;
 * 3. the principal is the session's homeowner, else the operator when the bearer token matches;
 * 4. a principal without the route's permission is refused: 403 for a homeowner whose role is too low,
 *    401 with `WWW-Authenticate: Bearer` (RFC 9110 15.5.2) when the operator could hold it, else 401 with
 *    "log in first". A missing `http.apiToken` is not a 503: the answer does not tell a stranger whether a
 *    token is set, and a token configured later opens the routes.
 */
export async function registerHttpAccess(app: FastifyInstance, deps: HttpAccessDeps): Promise<void> {
  const routes: RoutePermissions = deps.routes ?? routePermissions
  const ruleOf = (method: string, url: string): RouteRule | undefined =>
    routes[`${method === 'HEAD' ? 'GET' : method} ${url}`]

  app.addHook('onRoute', (route: RouteOptions) => {
    for (const method of [route.method].flat()) {
      if (ruleOf(method, route.url) !== undefined) continue
      throw new DoorbellError('ROUTE_UNGUARDED', `${method} ${route.url} is not in the route table`)
    }
  })
  await app.register(cookie)

  app.addHook('onRequest', async (request, reply) => {
    const isUnsafe = unsafeMethods.has(request.method)
    const origin = request.headers.origin
    if (isUnsafe && origin && !isSameOrigin(origin, request.headers.host)) {
      return reply.code(403).send({ error: 'cross-origin request refused' })
    }
    const session = await sessionFromCookie(
      request.cookies[sessionCookieName],
      deps.sessions,
      deps.homeowners,
    )
    if (session) {
      if (isUnsafe && request.url !== '/api/login') {
        const given = request.headers['x-csrf-token']
        if (typeof given !== 'string' || !isSameSecret(given, session.csrfToken)) {
          return reply.code(403).send({ error: 'missing or wrong x-csrf-token' })
        }
      }
      sessions.set(request, session)
    }
    // An unknown URL has no route options: fastify's 404 answers it.
    const url = request.routeOptions.url
    if (url === undefined) return
    const rule = ruleOf(request.method, url)
    if (rule === 'public') return
    const principal: HttpPrincipal | undefined = session
      ? { kind: 'homeowner', name: session.user, role: session.role }
      : isOperatorBearer(request, deps.apiToken)
        ? { kind: 'operator' }
        : undefined
    if (rule !== undefined && principal && isGranted(principal, rule)) {
      principals.set(request, principal)
      return
    }
    return refuse(reply, principal, rule !== undefined && isOperatorPermission(rule))
  })
}

function refuse(
  reply: FastifyReply,
  principal: HttpPrincipal | undefined,
  isOperatorRoute: boolean,
): FastifyReply {
  if (principal?.kind === 'homeowner') return reply.code(403).send({ error: 'owner role required' })
  if (isOperatorRoute) {
    return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'bad or missing bearer token' })
  }
  return reply.code(401).send({ error: 'log in first' })
}
