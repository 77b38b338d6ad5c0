import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import fastifyStatic from '@fastify/static'
import swagger from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'
import {
  type AlertsDeps,
  type RunningAlertingCollector,
  startAlertingCollector,
} from '../alerts/start-alerts.js'
import type { CollectorDeps } from '../collector.js'
import type { CollectorConfig } from '../config.js'
import { bearerTokenAuthorizer } from '../http/http-auth.js'
import { LiveExtension } from '../live/live-extension.js'
import type { LiveServiceEvent } from '../live/live-service.js'
import { registerDashboardRoutes } from './dashboard-routes.js'
import { SseEventHub } from './event-stream.js'
import { FileHomeownerStore } from './homeowner-store.js'
import { LoginThrottle } from './login-throttle.js'
import { registerSessionAuth, sessionOf } from './session-auth.js'
import { FileSessionStore } from './session-store.js'
import { FileUserSettingsStore } from './user-settings-store.js'

/** How long a login lasts. */
export const sessionTtlMs = 14 * 24 * 60 * 60 * 1000

/** A collector with alerts and the homeowner dashboard. */
export interface RunningDashboardCollector extends RunningAlertingCollector {
  readonly homeowners: FileHomeownerStore
  readonly hub: SseEventHub
  /** Live view and two-way talk (docs/live.md). */
  readonly live: LiveExtension
}

/**
 * The web app's static files. Sources and the build both find them in the source tree
 * (collector/dashboard/public), which the container image copies next to dist/.
 */
export function dashboardPublicDir(): string {
  const here = import.meta.dirname
  const beside = join(here, 'public')
  if (existsSync(beside)) return beside
  return resolve(here, '../../../collector/dashboard/public')
}

/**
 * Starts the collector with alerts and the dashboard (issue 6): session login, the dashboard API with its
 * OpenAPI document at /api/openapi.json, live events over SSE and the PWA's static files. Homeowner
 * settings saved from the dashboard feed the alert service, and a session opens the alerts API.
 */
export async function startDashboardCollector(
  config: CollectorConfig,
  deps: CollectorDeps = {},
  alertsDeps: AlertsDeps = {},
  liveDeps: { onLiveEvent?: (event: LiveServiceEvent) => void } = {},
): Promise<RunningDashboardCollector> {
  const dataDir = resolve(config.dataDir)
  const homeowners = new FileHomeownerStore(dataDir)
  const sessions = new FileSessionStore({
    dataDir,
    ttlMs: sessionTtlMs,
    ...(deps.now ? { now: deps.now } : {}),
  })
  const settings = new FileUserSettingsStore(dataDir, config.alerts.users)
  const hub = new SseEventHub()
  const operatorMedia = deps.authorizeMedia ?? bearerTokenAuthorizer(config.http.apiToken)
  const live = new LiveExtension(config.live, {
    ...(deps.now ? { now: deps.now } : {}),
    ...(liveDeps.onLiveEvent ? { onEvent: liveDeps.onLiveEvent } : {}),
  })
  let running: RunningAlertingCollector | undefined
  try {
    running = await startAlertingCollector(
      config,
      {
        ...deps,
        onLiveSignal: live.onLiveSignal,
        onEvent: (event) => {
          deps.onEvent?.(event)
          live.onCollectorEvent(event)
        },
        // A logged-in homeowner (any role) reads clips and snapshots; the operator's bearer token still works.
        authorizeMedia: (request) => sessionOf(request) !== undefined || operatorMedia(request),
        onStored: (events) => {
          deps.onStored?.(events)
          hub.onStored(events)
        },
        registerHttpRoutes: async (app: FastifyInstance, collector) => {
          await app.register(swagger, {
            openapi: {
              info: { title: 'Doorbell collector API', version: '1.0.0' },
              components: {
                securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: 'doorbell_session' } },
              },
            },
          })
          await registerSessionAuth(app, sessions, homeowners)
          await deps.registerHttpRoutes?.(app, collector)
          registerDashboardRoutes(app, {
            store: collector.store,
            homeowners,
            sessions,
            settings,
            hub,
            // A household shares one address behind NAT, so the address limit is looser than the account's.
            throttle: { byUser: new LoginThrottle(), byAddress: new LoginThrottle({ maxFailures: 50 }) },
            alerts: config.alerts,
            sessionTtlMs,
            sendTest: (user) => running?.alerts.sendTest(user),
          })
          live.registerRoutes(app, (request) => {
            const session = sessionOf(request)
            return session ? { user: session.user, role: session.role } : undefined
          })
          app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger())
          // Alert links point at <publicUrl>/events/<id> (docs/alerts.md); the app routes by hash.
          app.get('/events/:id', { schema: { hide: true } }, async (request, reply) => {
            const { id } = request.params as { id: string }
            return reply.redirect(`/#/event/${encodeURIComponent(id)}`)
          })
          // decorateReply:false: the media routes register @fastify/static too (for reply.sendFile).
          await app.register(fastifyStatic, {
            root: dashboardPublicDir(),
            prefix: '/',
            index: 'index.html',
            decorateReply: false,
          })
        },
      },
      {
        ...alertsDeps,
        service: { users: () => settings.users(), ...alertsDeps.service },
        routesAuth: {
          sessionUser: (request) => {
            const session = sessionOf(request)
            return session ? { name: session.user, role: session.role } : undefined
          },
          users: () => settings.users(),
        },
      },
    )
  } catch (err) {
    hub.close()
    throw err
  }
  const inner = running
  try {
    await live.start(inner.collector)
  } catch (err) {
    hub.close()
    await inner.close()
    throw err
  }
  return {
    ...inner,
    homeowners,
    hub,
    live,
    async close() {
      hub.close()
      await live.stop()
      await inner.close()
    },
  }
}
