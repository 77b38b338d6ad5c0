import fastifyStatic from '@fastify/static'
import { Counter } from 'prom-client'
import { registerDashboardRoutes } from '../dashboard/dashboard-routes.js'
import { SseEventHub } from '../dashboard/event-stream.js'
import { dashboardPublicDir } from '../dashboard/public-dir.js'
import { SharpSnapshotThumbnailer } from '../dashboard/snapshot-thumbnailer.js'
import { ThumbnailMetrics } from '../dashboard/thumbnail-routes.js'
import type { StoredEventsListener } from '../postgres/stored-events-channel.js'
import type { CollectorExtension, ExtensionContext } from './extension.js'

/**
 * The homeowner dashboard (docs/dashboard.md): login and sessions, the dashboard API, live events over
 * SSE, and the PWA's static files. Needs the HTTP server; without one it does nothing. In a fleet the live
 * stream also shows what other nodes stored, as PostgreSQL announces their commits (LISTEN/NOTIFY).
 */
export class DashboardExtension implements CollectorExtension {
  readonly name = 'dashboard'
  #hub: SseEventHub | undefined
  #listener: StoredEventsListener | undefined

  /** The live event streams (undefined before start, or without HTTP). */
  get hub(): SseEventHub | undefined {
    return this.#hub
  }

  async start(ctx: ExtensionContext): Promise<void> {
    const app = ctx.http
    if (!app) return
    const { bus, stores } = ctx
    const evictions = new Counter({
      name: 'doorbell_dashboard_streams_evicted_total',
      help: 'Live timeline streams closed to make room for a new one, by cap (session, user, total)',
      labelNames: ['reason'] as const,
      registers: [ctx.metrics],
    })
    const hub = new SseEventHub({
      limits: ctx.quotas.liveStreams,
      onEvicted: (reason) => evictions.inc({ reason }),
    })
    this.#hub = hub
    bus.on('stored', ({ events }) => hub.onStored(events))
    const { fleet } = stores
    if (fleet) {
      // Loaded only in a fleet, so the embedded default never loads the PostgreSQL client.
      const { StoredEventsListener } = await import('../postgres/stored-events-channel.js')
      const listener = new StoredEventsListener({
        url: fleet.url,
        db: fleet.db,
        nodeId: fleet.nodeId,
        onEvents: (events) => hub.onStored(events),
        onResync: () => hub.resync(),
        onError: (err) => bus.emit({ kind: 'task_failed', task: 'live timeline listener', err }),
      })
      await listener.start()
      this.#listener = listener
    }
    const thumbnailMetrics = new ThumbnailMetrics()
    thumbnailMetrics.registerInto(ctx.metrics)
    const logins = new Counter({
      name: 'doorbell_dashboard_logins_total',
      help: 'Dashboard logins by result: ok, failed (wrong name or password), refused (backed off, unchecked)',
      labelNames: ['result'] as const,
      registers: [ctx.metrics],
    })
    registerDashboardRoutes(app, {
      store: stores.events,
      homeowners: stores.homeowners,
      sessions: stores.sessions,
      settings: stores.userSettings,
      hub,
      throttle: stores.loginThrottle,
      logins,
      alerts: ctx.config.alerts,
      sessionTtlMs: ctx.quotas.sessionTtlMs,
      sendTest: (user) => {
        bus.emit({ kind: 'test_notification', user })
        return [...(stores.userSettings.users().find((u) => u.name === user)?.channels ?? [])]
      },
      thumbnails: new SharpSnapshotThumbnailer(ctx.config.dashboard.thumbnails),
      thumbnailMetrics,
    })
    // Alert links point at <publicUrl>/events/<id> (docs/alerts.md); the app routes by hash.
    app.get('/events/:id', { schema: { hide: true } }, async (request, reply) => {
      const { id } = request.params as { id: string }
      return reply.redirect(`/#/event/${encodeURIComponent(id)}`)
    })
    // The "Live" links of press alerts (<publicUrl>/live/<deviceId>): the app routes by hash.
    app.get('/live/:deviceId', { schema: { hide: true } }, async (request, reply) => {
      const { deviceId } = request.params as { deviceId: string }
      return reply.redirect(`/#/live/${encodeURIComponent(deviceId)}`)
    })
    // decorateReply:false: the media routes register @fastify/static too (for reply.sendFile).
    await app.register(fastifyStatic, {
      root: dashboardPublicDir(),
      prefix: '/',
      index: 'index.html',
      decorateReply: false,
    })
  }

  async stop(): Promise<void> {
    await this.#listener?.stop()
    this.#hub?.close()
  }
}
