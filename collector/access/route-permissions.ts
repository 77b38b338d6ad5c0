import type { RouteRule } from './permissions.js'

/**
 * The permission of every HTTP route, `METHOD url` as registered with fastify. A route missing here is
 * refused when it is registered (http-access.ts), so a new route cannot go out unguarded. HEAD follows GET.
 * Who holds which permission is in permissions.ts.
 */
export const routePermissions = {
  // The collector itself: liveness for orchestrators (ok or not, nothing more); metrics for Prometheus name
  // devices and count refusals, so they are the operator's unless http.metricsAccess is public.
  'GET /healthz': 'public',
  'GET /metrics': 'metrics:read',
  // Media (media-routes.ts).
  'GET /api/clips/:clipId': 'media:read',
  'GET /api/events/:id/snapshot': 'media:read',
  // Alerts API (alerts-routes.ts). The VAPID key is public by design: browsers need it to subscribe.
  'GET /api/push/vapid-public-key': 'public',
  'GET /api/devices/health': 'health:read',
  'GET /api/stats/visitors': 'stats:read',
  'GET /api/alerts/dead-letters': 'dead-letters:read',
  'POST /api/push/subscriptions': 'push-subscriptions:write',
  'DELETE /api/push/subscriptions': 'push-subscriptions:write',
  // Dashboard sessions (session-routes.ts). GET /api/session answers 401 itself when nobody is logged in.
  'POST /api/login': 'public',
  'POST /api/logout': 'session:end',
  'GET /api/session': 'public',
  // Dashboard events and readings (event-routes.ts).
  'GET /api/events': 'events:read',
  'GET /api/events/stream': 'events:read',
  'GET /api/events/:id': 'events:read',
  'GET /api/readings': 'events:read',
  // The timeline's snapshot thumbnails (thumbnail-routes.ts): pictures, so media like the snapshot itself.
  'GET /api/events/:id/thumbnail': 'media:read',
  // Dashboard settings (settings-routes.ts).
  'GET /api/settings': 'settings:read',
  'PUT /api/settings': 'settings:write',
  'POST /api/settings/test-notification': 'settings:write',
  // Live view signalling (collector/live/live-routes.ts); starting and talking are checked by role there.
  'POST /api/live/:deviceId/viewers': 'live:watch',
  'POST /api/live/viewers/:viewerId/answer': 'live:watch',
  'POST /api/live/viewers/:viewerId/talk': 'live:watch',
  'POST /api/live/viewers/:viewerId/keepalive': 'live:watch',
  // The ticket that opens the fallback's WebSocket (GET /api/live/stream?ticket=, an upgrade that is no
  // fastify route: the one-time ticket is its check, collector/live/fallback-socket.ts).
  'POST /api/live/viewers/:viewerId/fallback': 'live:watch',
  'DELETE /api/live/viewers/:viewerId': 'live:watch',
  // The dashboard's OpenAPI document, alert links (redirects into the app) and the web app's static files.
  'GET /api/openapi.json': 'api-docs:read',
  'GET /events/:id': 'public',
  'GET /live/:deviceId': 'public',
  'GET /*': 'public',
} as const satisfies Record<string, RouteRule>

/** The route table's type: `METHOD url` to what the route needs. */
export type RoutePermissions = Readonly<Record<string, RouteRule>>

/** Who may read /metrics and the OpenAPI document (http.metricsAccess, http.openApiAccess). */
export interface Exposure {
  readonly metricsAccess: 'public' | 'operator' | 'off'
  readonly openApiAccess: 'public' | 'operator' | 'off'
}

/** The route table with /metrics and /api/openapi.json opened to anyone where the config says public. */
export function withExposure(routes: RoutePermissions, exposure: Exposure): RoutePermissions {
  return {
    ...routes,
    ...(exposure.metricsAccess === 'public' ? { 'GET /metrics': 'public' } : {}),
    ...(exposure.openApiAccess === 'public' ? { 'GET /api/openapi.json': 'public' } : {}),
  }
}
