import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { sessionOf } from '../access/http-access.js'
import { isCookieInsecureOk, sessionCookieName } from '../access/http-credentials.js'
import type { DashboardRoutesDeps } from './dashboard-routes.js'

const error = { type: 'object', properties: { error: { type: 'string' } } } as const
const sessionReply = {
  type: 'object',
  properties: {
    user: { type: 'string' },
    role: { type: 'string' },
    csrfToken: { type: 'string' },
    timeZone: {
      type: ['string', 'null'],
      description: "IANA zone the user's settings show times in; null: the browser's own",
    },
  },
} as const
const loginBody = z.strictObject({ name: z.string().min(1).max(64), password: z.string().min(1).max(256) })

/** POST /api/login, POST /api/logout, GET /api/session. */
export function registerSessionRoutes(app: FastifyInstance, deps: DashboardRoutesDeps): void {
  app.post(
    '/api/login',
    {
      schema: {
        tags: ['session'],
        summary: 'Log in; sets the session cookie and returns the CSRF token',
        body: {
          type: 'object',
          required: ['name', 'password'],
          properties: { name: { type: 'string' }, password: { type: 'string' } },
        },
        response: { 200: sessionReply, 400: error, 401: error, 429: error },
      },
    },
    async (request, reply) => {
      const parsed = loginBody.safeParse(request.body)
      if (!parsed.success) return reply.code(400).send({ error: 'expected {name, password}' })
      const attempt = await deps.throttle.begin(request.ip, parsed.data.name)
      if ('retryAfterMs' in attempt) {
        deps.logins.inc({ result: 'refused' })
        return reply
          .code(429)
          .header('retry-after', String(Math.ceil(attempt.retryAfterMs / 1000)))
          .send({ error: 'too many failed logins; try again later' })
      }
      const user = await deps.homeowners.verify(parsed.data.name, parsed.data.password)
      if (!user) {
        deps.logins.inc({ result: 'failed' })
        return reply.code(401).send({ error: 'wrong name or password' })
      }
      await attempt.succeeded()
      deps.logins.inc({ result: 'ok' })
      const { token, session } = await deps.sessions.create(user.name, user.role)
      void reply.setCookie(sessionCookieName, token, {
        path: '/',
        httpOnly: true,
        sameSite: 'strict',
        secure: !isCookieInsecureOk(request),
        maxAge: Math.floor(deps.sessionTtlMs / 1000),
      })
      return sessionBody(session, deps)
    },
  )

  app.post(
    '/api/logout',
    { schema: { tags: ['session'], summary: 'Ends the session' } },
    async (request, reply) => {
      const token = request.cookies[sessionCookieName]
      if (token) await deps.sessions.delete(token)
      const session = sessionOf(request)
      if (session) deps.hub.endSession(session.csrfToken)
      void reply.clearCookie(sessionCookieName, { path: '/' })
      return reply.code(204).send()
    },
  )

  app.get(
    '/api/session',
    {
      schema: {
        tags: ['session'],
        summary: 'The logged-in user',
        response: { 200: sessionReply, 401: error },
      },
    },
    async (request, reply) => {
      const session = sessionOf(request)
      if (!session) return reply.code(401).send({ error: 'not logged in' })
      return sessionBody(session, deps)
    },
  )
}

function sessionBody(
  session: { readonly user: string; readonly role: string; readonly csrfToken: string },
  deps: DashboardRoutesDeps,
): Record<string, unknown> {
  const { user, role, csrfToken } = session
  return { user, role, csrfToken, timeZone: deps.settings.get(user).timeZone }
}
