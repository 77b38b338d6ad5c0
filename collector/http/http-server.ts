import Fastify, { type FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import { type HttpAuthorizer, requireAuthorized } from './http-auth.js'

/** Who may read a route that tells about the installation: anyone, the operator, or nobody (404). */
export type ExposureAccess = 'public' | 'operator' | 'off'

/** What the HTTP server needs to answer health and metrics. */
export interface HttpServerDeps {
  readonly registry: Registry
  /** Health details; the check is healthy when every value is true. */
  readonly health: () => Record<string, boolean>
  /** Who may read /metrics (http.metricsAccess). */
  readonly metricsAccess: ExposureAccess
  /** The operator's check, for `operator` access. */
  readonly authorizeOperator: HttpAuthorizer
}

/**
 * The collector's HTTP server: GET /healthz (open: it says only ok or not) and GET /metrics (the operator's
 * by default, http.metricsAccess). The dashboard adds its routes here.
 */
export function buildHttpServer(deps: HttpServerDeps): FastifyInstance {
  const app = Fastify({ logger: false })
  app.get('/healthz', async (_req, reply) => {
    const checks = deps.health()
    const isHealthy = Object.values(checks).every(Boolean)
    return reply.code(isHealthy ? 200 : 503).send({ status: isHealthy ? 'ok' : 'unavailable', checks })
  })
  if (deps.metricsAccess !== 'off') {
    const preHandler = deps.metricsAccess === 'operator' ? [requireAuthorized(deps.authorizeOperator)] : []
    app.get('/metrics', { preHandler }, async (_req, reply) => {
      return reply.type(deps.registry.contentType).send(await deps.registry.metrics())
    })
  }
  return app
}
