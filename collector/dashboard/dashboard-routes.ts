import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { type EventClass, isMessageType, messageTypeNames } from '../../shared/protocol/index.js'
import type { AlertsConfig } from '../alerts/alerts-config.js'
import type { EventStore } from '../store/event-store.js'
import type { SseEventHub } from './event-stream.js'
import { summarizeEvent } from './event-summary.js'
import type { FileHomeownerStore } from './homeowner-store.js'
import type { LoginThrottle } from './login-throttle.js'
import { isCookieInsecureOk, requireRole, sessionCookieName, sessionOf } from './session-auth.js'
import type { FileSessionStore } from './session-store.js'
import { type FileUserSettingsStore, userSettingsSchema } from './user-settings-store.js'

/** What the dashboard API needs. */
export interface DashboardRoutesDeps {
  readonly store: EventStore
  readonly homeowners: FileHomeownerStore
  readonly sessions: FileSessionStore
  readonly settings: FileUserSettingsStore
  readonly hub: SseEventHub
  /** Failed logins per account name, and (a looser limit) per client address. */
  readonly throttle: { readonly byUser: LoginThrottle; readonly byAddress: LoginThrottle }
  readonly alerts: AlertsConfig
  readonly sessionTtlMs: number
  /** Sends a test notification to a user; the channels it went to (undefined before the service is up). */
  readonly sendTest: (user: string) => string[] | undefined
}

const error = { type: 'object', properties: { error: { type: 'string' } } } as const
const sessionReply = {
  type: 'object',
  properties: { user: { type: 'string' }, role: { type: 'string' }, csrfToken: { type: 'string' } },
} as const
const eventListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    deviceId: { type: 'string', maxLength: 64 },
    type: { type: 'string', enum: messageTypeNames },
    class: { type: 'string', enum: ['high', 'medium', 'low'] },
    fromMs: { type: 'integer', minimum: 0, description: 'inclusive, capture time, ms since the epoch' },
    toMs: { type: 'integer', minimum: 0, description: 'exclusive' },
    limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
    cursor: { type: 'string', maxLength: 200, description: 'nextCursor of the previous page' },
    order: { type: 'string', enum: ['newest', 'oldest'], default: 'newest' },
  },
} as const
const readingsQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { type: 'string', enum: ['temperature', 'light'] },
    deviceId: { type: 'string', maxLength: 64 },
    fromMs: { type: 'integer', minimum: 0 },
    toMs: { type: 'integer', minimum: 0 },
    limit: { type: 'integer', minimum: 1, maximum: 2000, default: 500 },
  },
} as const
const loginBody = z.strictObject({ name: z.string().min(1).max(64), password: z.string().min(1).max(256) })

/** The dashboard's HTTP API (issue 6): login, sessions, events (paged, filtered, live), readings, settings. */
export function registerDashboardRoutes(app: FastifyInstance, deps: DashboardRoutesDeps): void {
  const viewer = requireRole('viewer')
  const owner = requireRole('owner')

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
      const { byUser, byAddress } = deps.throttle
      const waitMs = Math.max(byUser.retryAfterMs([parsed.data.name]), byAddress.retryAfterMs([request.ip]))
      if (waitMs > 0) {
        return reply
          .code(429)
          .header('retry-after', String(Math.ceil(waitMs / 1000)))
          .send({ error: 'too many failed logins; try again later' })
      }
      const user = await deps.homeowners.verify(parsed.data.name, parsed.data.password)
      if (!user) {
        byUser.fail([parsed.data.name])
        byAddress.fail([request.ip])
        return reply.code(401).send({ error: 'wrong name or password' })
      }
      byUser.succeed(parsed.data.name)
      const { token, session } = deps.sessions.create(user.name, user.role)
      void reply.setCookie(sessionCookieName, token, {
        path: '/',
        httpOnly: true,
        sameSite: 'strict',
        secure: !isCookieInsecureOk(request),
        maxAge: Math.floor(deps.sessionTtlMs / 1000),
      })
      return { user: session.user, role: session.role, csrfToken: session.csrfToken }
    },
  )

  app.post(
    '/api/logout',
    { schema: { tags: ['session'], summary: 'Ends the session' }, preHandler: viewer },
    async (request, reply) => {
      const token = request.cookies[sessionCookieName]
      if (token) deps.sessions.delete(token)
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
      return { user: session.user, role: session.role, csrfToken: session.csrfToken }
    },
  )

  app.get(
    '/api/events',
    {
      schema: {
        tags: ['events'],
        summary:
          'Stored events, newest first, paginated by cursor, filterable by device, type, class and time',
        querystring: eventListQuery,
      },
      preHandler: viewer,
    },
    async (request) => {
      const q = request.query as {
        deviceId?: string
        type?: string
        class?: EventClass
        fromMs?: number
        toMs?: number
        limit: number
        cursor?: string
        order: 'newest' | 'oldest'
      }
      const page = await deps.store.queryEvents({
        ...(q.deviceId ? { deviceId: q.deviceId } : {}),
        ...(q.type && isMessageType(q.type) ? { type: q.type } : {}),
        ...(q.class ? { eventClass: q.class } : {}),
        ...(q.fromMs !== undefined ? { fromMs: q.fromMs } : {}),
        ...(q.toMs !== undefined ? { toMs: q.toMs } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
        limit: q.limit,
        isNewestFirst: q.order === 'newest',
      })
      return {
        items: page.items.map(summarizeEvent),
        ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
      }
    },
  )

  app.get(
    '/api/events/stream',
    {
      schema: {
        tags: ['events'],
        summary: 'Server-Sent Events: `stored` for each new press, motion, snapshot, clip',
      },
      preHandler: viewer,
    },
    async (_request, reply) => {
      reply.hijack()
      deps.hub.add(reply.raw)
    },
  )

  app.get(
    '/api/events/:id',
    {
      schema: {
        tags: ['events'],
        summary: 'One event, with the snapshots and clip manifests that relate to it',
        params: {
          type: 'object',
          properties: { id: { type: 'string', pattern: '^[0-9A-HJKMNP-TV-Z]{26}$' } },
        },
      },
      preHandler: viewer,
    },
    async (request, reply) => {
      const { id } = request.params as { id: string }
      const event = await deps.store.getEvent(id)
      if (!event) return reply.code(404).send({ error: 'no such event' })
      const related = await relatedMedia(deps.store, event.deviceId, id, Date.parse(event.capturedAt))
      return { event: summarizeEvent(event), ...related }
    },
  )

  app.get(
    '/api/readings',
    {
      schema: {
        tags: ['readings'],
        summary: 'Temperature or light readings over time',
        querystring: readingsQuery,
      },
      preHandler: viewer,
    },
    async (request) => {
      const q = request.query as {
        type: 'temperature' | 'light'
        deviceId?: string
        fromMs?: number
        toMs?: number
        limit: number
      }
      const page = await deps.store.queryEvents({
        type: q.type,
        ...(q.deviceId ? { deviceId: q.deviceId } : {}),
        fromMs: q.fromMs ?? Date.now() - 24 * 60 * 60 * 1000,
        ...(q.toMs !== undefined ? { toMs: q.toMs } : {}),
        limit: q.limit,
        isNewestFirst: true,
      })
      const points = page.items.reverse().map((e) => ({
        deviceId: e.deviceId,
        at: e.capturedAt,
        value: e.type === 'temperature' ? e.payload.celsius : e.type === 'light' ? e.payload.lux : null,
      }))
      return { type: q.type, unit: q.type === 'temperature' ? '°C' : 'lx', points }
    },
  )

  app.get(
    '/api/settings',
    {
      schema: { tags: ['settings'], summary: "The user's notification settings and the channels there are" },
      preHandler: viewer,
    },
    async (request) => {
      const session = sessionOf(request)
      if (!session) throw new Error('unreachable: guarded')
      const webPush = deps.alerts.channels.find((c) => c.kind === 'webpush')
      return {
        user: session.user,
        settings: deps.settings.get(session.user),
        availableChannels: deps.alerts.channels.map((c) => ({ name: c.name, kind: c.kind })),
        ...(webPush ? { vapidPublicKey: webPush.vapid.publicKey } : {}),
      }
    },
  )

  app.put(
    '/api/settings',
    { schema: { tags: ['settings'], summary: 'Saves the notification settings (owner)' }, preHandler: owner },
    async (request, reply) => {
      const session = sessionOf(request)
      const parsed = userSettingsSchema.safeParse(request.body)
      if (!session || !parsed.success) {
        return reply.code(400).send({ error: parsed.error ? z.prettifyError(parsed.error) : 'bad request' })
      }
      const known = new Set(deps.alerts.channels.map((c) => c.name))
      const unknown = parsed.data.channels.filter((c) => !known.has(c))
      if (unknown.length > 0)
        return reply.code(400).send({ error: `unknown channels: ${unknown.join(', ')}` })
      deps.settings.set(session.user, parsed.data)
      return { settings: deps.settings.get(session.user) }
    },
  )

  app.post(
    '/api/settings/test-notification',
    {
      schema: { tags: ['settings'], summary: "Sends a test notification on the user's channels (owner)" },
      preHandler: owner,
    },
    async (request, reply) => {
      const session = sessionOf(request)
      const channels = session ? deps.sendTest(session.user) : undefined
      if (!channels) return reply.code(503).send({ error: 'alerts are not running' })
      return { channels }
    },
  )
}

/** Snapshots and clip manifests of the same device captured around an event that name it. */
async function relatedMedia(
  store: EventStore,
  deviceId: string,
  id: string,
  capturedAtMs: number,
): Promise<{ snapshotIds: string[]; clipIds: string[] }> {
  const windowMs = 10 * 60 * 1000
  const around = { deviceId, fromMs: capturedAtMs - windowMs, toMs: capturedAtMs + windowMs, limit: 200 }
  const [snapshots, clips] = await Promise.all([
    store.queryEvents({ ...around, type: 'snapshot' }),
    store.queryEvents({ ...around, type: 'clip.manifest' }),
  ])
  const relates = (p: unknown): boolean => (p as { relatesTo?: string }).relatesTo === id
  return {
    snapshotIds: snapshots.items.filter((e) => e.id === id || relates(e.payload)).map((e) => e.id),
    clipIds: clips.items
      .filter((e) => relates(e.payload))
      .map((e) => (e.payload as { clipId: string }).clipId),
  }
}
