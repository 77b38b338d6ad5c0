import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { principalOf } from '../access/http-access.js'
import { mayActFor } from '../access/permissions.js'
import type { EventStore } from '../store/event-store.js'
import { type AlertsConfig, type AlertUser, timeZone } from './alerts-config.js'
import type { DeadLetterLog } from './dead-letter-log.js'
import type { DeviceHealthStatus } from './device-health-monitor.js'
import { type EndpointProblem, publicEndpointProblem } from './public-endpoint.js'
import { type PushSubscriptionStore, pushSubscriptionSchema } from './push-subscription-store.js'
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
  timeZone: timeZone.optional(),
})

const endpointProblemText: Record<EndpointProblem, string> = {
  not_https: 'expected an https push service endpoint',
  private_address: 'the push service must be on a public address',
  unresolvable: 'the push service host does not resolve',
}

/**
 * The alerts HTTP API. Device health, visitor statistics, the dead letters and the push subscription
 * routes carry personal data: what each needs is in access/route-permissions.ts, checked by the one access
 * hook before these handlers run. Push subscriptions are managed for oneself, or by the operator for anyone.
 * Only the VAPID public key, which is public by design, is open.
 */
export function registerAlertsRoutes(
  app: FastifyInstance,
  deps: {
    /** Device health now, per device. */
    health: { statuses(nowMs: number): DeviceHealthStatus[] }
    deadLetters: DeadLetterLog
    subscriptions: PushSubscriptionStore
    config: AlertsConfig
    store: EventStore
    /** The homeowners' current settings; default the config's users. */
    users?: () => readonly AlertUser[]
    now?: () => number
    /** A registration was refused: its endpoint is not https on a public address. */
    onEndpointRefused?: () => void
    /** Subscriptions one user may hold; a new one beyond it replaces their oldest. */
    maxSubscriptionsPerUser?: number
    /** A user's oldest subscriptions were removed to make room for a new one. */
    onSubscriptionsEvicted?: (count: number) => void
  },
): void {
  const { config, store, subscriptions } = deps
  const now = deps.now ?? Date.now
  const users = deps.users ?? (() => config.users)
  const webPush = config.channels.find((c) => c.kind === 'webpush')

  app.get('/api/push/vapid-public-key', async (_request, reply) => {
    if (!webPush) return reply.code(404).send({ error: 'no webpush channel configured' })
    return { publicKey: webPush.vapid.publicKey }
  })

  app.get('/api/devices/health', async () => ({
    devices: deps.health.statuses(now()),
  }))

  app.get('/api/stats/visitors', async (request, reply) => {
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

  app.get('/api/alerts/dead-letters', async () => ({
    deadLetters: await deps.deadLetters.list(),
  }))

  app.post('/api/push/subscriptions', async (request, reply) => {
    const parsed = addSubscriptionBody.safeParse(request.body)
    if (!parsed.success) return reply.code(400).send({ error: z.prettifyError(parsed.error) })
    const { user, subscription } = parsed.data
    if (!mayActFor(principalOf(request), user))
      return reply.code(403).send({ error: 'not your subscription' })
    if (!users().some((u) => u.name === user)) return reply.code(404).send({ error: `no user ${user}` })
    const problem =
      config.pushEndpoints === 'public' ? await publicEndpointProblem(subscription.endpoint) : undefined
    if (problem) {
      deps.onEndpointRefused?.()
      return reply.code(400).send({ error: `subscription.endpoint: ${endpointProblemText[problem]}` })
    }
    const evicted = await subscriptions.add(
      { user, endpoint: subscription.endpoint, keys: subscription.keys, createdAtMs: now() },
      deps.maxSubscriptionsPerUser === undefined ? {} : { maxPerUser: deps.maxSubscriptionsPerUser },
    )
    if (evicted.length > 0) deps.onSubscriptionsEvicted?.(evicted.length)
    return reply.code(201).send({ ok: true })
  })

  app.delete('/api/push/subscriptions', async (request, reply) => {
    const parsed = removeSubscriptionBody.safeParse(request.body)
    if (!parsed.success) return reply.code(400).send({ error: z.prettifyError(parsed.error) })
    const existing = (await subscriptions.all()).find((s) => s.endpoint === parsed.data.endpoint)
    if (existing && !mayActFor(principalOf(request), existing.user)) {
      return reply.code(403).send({ error: 'not your subscription' })
    }
    const removed = await subscriptions.remove(parsed.data.endpoint)
    return reply.code(removed ? 204 : 404).send()
  })
}
