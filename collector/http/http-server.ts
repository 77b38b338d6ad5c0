import Fastify, { type FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'

/** What the HTTP server needs to answer health and metrics. */
export interface HttpServerDeps {
  readonly registry: Registry
  /** Health details; the check is healthy when every value is true. */
  readonly health: () => Record<string, boolean>
}

/** The collector's HTTP server: GET /healthz and GET /metrics. The dashboard issue adds its routes here. */
export function buildHttpServer(deps: HttpServerDeps): FastifyInstance {
  const app = Fastify({ logger: false })
  app.get('/healthz', async (_req, reply) => {
    const checks = deps.health()
    const isHealthy = Object.values(checks).every(Boolean)
    return reply.code(isHealthy ? 200 : 503).send({ status: isHealthy ? 'ok' : 'unavailable', checks })
  })
  app.get('/metrics', async (_req, reply) => {
    return reply.type(deps.registry.contentType).send(await deps.registry.metrics())
  })
  return app
}
