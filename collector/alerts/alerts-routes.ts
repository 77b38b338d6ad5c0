import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { type HttpAuthorizer, requireAuthorized } from '../http/http-auth.js'
import type { EventStore } from '../store/event-store.js'
import type { AlertService } from './alert-service.js'
import type { AlertsConfig, AlertUser } from './alerts-config.js'
import { pushSubscriptionSchema } from './push-subscription-store.js'
import { visitorStats } from './visitor-stats.js'

const addSubscriptionBody = z.strictObject({
  user: z.string().min(1).max(64),
  subscription: pushSubscriptionSchema,
})
const removeSubscriptionBody = z.strictObject({ endpoint: z.url() })
const statsQuery = z.strictObject({
  deviceId: z.string().min(1).max(64).optional(),
  fromMs: z.coerce.number().int().nonnegative().optional(),
  toMs: z.coerce.number().int().positive().optional(),
  timeZone: z.string().min(1).max(64).optional(),
})

/** A logged-in homeowner, as the dashboard's session hook reports it. */
export interface SessionUser {
  readonly name: string
  readonly role: 'owner' | 'viewer'
}

/** Optional hooks from the dashboard (issue 6): who is logged in, and the current user settings. */
export interface AlertsRoutesAuth {
  /** The session user of a request, when it carries a valid session cookie. */
  readonly sessionUser?: (request: FastifyRequest) => SessionUser | undefined
  readonly users?: () => readonly AlertUser[]
}

/**
 * The alerts HTTP API. Device health, visitor statistics, the dead letters and the push subscription
 * routes carry personal data: they need a dashboard session (viewer reads, owner for the dead letters,
 * push subscriptions only the user's own) or the operator, as `isOperator` decides (the `http.apiToken`
 * bearer token); anything else gets 401, whether or not a token is configured (http-auth.ts). Only the
 * VAPID public key, which is public by design, is open.
 */
export function registerAlertsRoutes(
  app: FastifyInstance,
  deps: {
    service: AlertService
    config: AlertsConfig
    store: EventStore
    /** The operator's check, shared with the media routes: bearerTokenAuthorizer(http.apiToken). */
    isOperator: HttpAuthorizer
    now?: () => number
    auth?: AlertsRoutesAuth
  },
): void {
  const { service, config, store } = deps
  const now = deps.now ?? Date.now
  const users = deps.auth?.users ?? (() => config.users)
  const sessionUser = (request: FastifyRequest): SessionUser | undefined => deps.auth?.sessionUser?.(request)
  const guard = requireAuthorized((request) => sessionUser(request) !== undefined || deps.isOperator(request))
  const ownerGuard = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const user = sessionUser(request)
    if (user && user.role !== 'owner') {
      await reply.code(403).send({ error: 'owner role required' })
      return
    }
    return guard(request, reply)
  }
  const webPush = config.channels.find((c) => c.kind === 'webpush')

  app.get('/api/push/vapid-public-key', async (_request, reply) => {
    if (!webPush) return reply.code(404).send({ error: 'no webpush channel configured' })
    return { publicKey: webPush.vapid.publicKey }
  })

  app.get('/api/devices/health', { preHandler: guard }, async () => ({
    devices: service.health.statuses(now()),
  }))

  app.get('/api/stats/visitors', { preHandler: guard }, async (request, reply) => {
    const parsed = statsQuery.safeParse(request.query)
    if (!parsed.success) return reply.code(400).send({ error: z.prettifyError(parsed.error) })
    const q = parsed.data
    return visitorStats(store, {
      ...(q.deviceId ? { deviceId: q.deviceId } : {}),
      fromMs: q.fromMs ?? now() - 30 * 24 * 60 * 60 * 1000,
      toMs: q.toMs ?? now() + 1,
      ...(q.timeZone ? { timeZone: q.timeZone } : {}),
    })
  })

  app.get('/api/alerts/dead-letters', { preHandler: ownerGuard }, async () => ({
    deadLetters: await service.deadLetters.list(),
  }))

  app.post('/api/push/subscriptions', { preHandler: guard }, async (request, reply) => {
    const parsed = addSubscriptionBody.safeParse(request.body)
    if (!parsed.success) return reply.code(400).send({ error: z.prettifyError(parsed.error) })
    const { user, subscription } = parsed.data
    const session = sessionUser(request)
    if (session && session.name !== user) return reply.code(403).send({ error: 'not your subscription' })
    if (!users().some((u) => u.name === user)) return reply.code(404).send({ error: `no user ${user}` })
    await service.subscriptions.add({
      user,
      endpoint: subscription.endpoint,
      keys: subscription.keys,
      createdAtMs: now(),
    })
    return reply.code(201).send({ ok: true })
  })

  app.delete('/api/push/subscriptions', { preHandler: guard }, async (request, reply) => {
    const parsed = removeSubscriptionBody.safeParse(request.body)
    if (!parsed.success) return reply.code(400).send({ error: z.prettifyError(parsed.error) })
    const session = sessionUser(request)
    const existing = (await service.subscriptions.all()).find((s) => s.endpoint === parsed.data.endpoint)
    if (session && existing && existing.user !== session.name) {
      return reply.code(403).send({ error: 'not your subscription' })
    }
    const removed = await service.subscriptions.remove(parsed.data.endpoint)
    return reply.code(removed ? 204 : 404).send()
  })
}
