import type { FastifyInstance } from 'fastify'
import type { AlertsConfig } from '../alerts/alerts-config.js'
import type { EventStore } from '../store/event-store.js'
import type { AlertUserSettings } from './alert-user-settings.js'
import type { DashboardSessions } from './dashboard-sessions.js'
import { registerEventRoutes } from './event-routes.js'
import type { SseEventHub } from './event-stream.js'
import type { Homeowners } from './homeowners.js'
import type { LoginThrottle } from './login-throttle.js'
import { registerSessionRoutes } from './session-routes.js'
import { registerSettingsRoutes } from './settings-routes.js'
import type { SharpSnapshotThumbnailer } from './snapshot-thumbnailer.js'
import { registerThumbnailRoutes, type ThumbnailMetrics } from './thumbnail-routes.js'

export interface DashboardRoutesDeps {
  readonly store: EventStore
  readonly homeowners: Homeowners
  readonly sessions: DashboardSessions
  readonly settings: AlertUserSettings
  readonly hub: SseEventHub
  /** Failed logins per address and account, per address and per account. */
  readonly throttle: LoginThrottle
  /** Dashboard logins by result: ok, failed (wrong name or password), refused (backed off, unchecked). */
  readonly logins: { inc(labels: { result: 'ok' | 'failed' | 'refused' }): void }
  readonly alerts: AlertsConfig
  readonly sessionTtlMs: number
  /** Asks for a test notification to a user; the channels it goes to. */
  readonly sendTest: (user: string) => string[]
  /** The timeline's snapshot thumbnails and their counters. */
  readonly thumbnails: SharpSnapshotThumbnailer
  readonly thumbnailMetrics: ThumbnailMetrics
}

/** The dashboard's HTTP API: login, sessions, events (paged, filtered, live), thumbnails, readings, settings. */
export function registerDashboardRoutes(app: FastifyInstance, deps: DashboardRoutesDeps): void {
  registerSessionRoutes(app, deps)
  registerEventRoutes(app, deps)
  registerSettingsRoutes(app, deps)
  registerThumbnailRoutes(app, {
    store: deps.store,
    thumbnails: deps.thumbnails,
    metrics: deps.thumbnailMetrics,
  })
}
