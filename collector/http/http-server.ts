import swagger from '@fastify/swagger'
import Fastify, { type FastifyInstance } from 'fastify'
import { Counter, type Registry } from 'prom-client'
import { DoorbellError } from '../../shared/errors.js'
import { type HttpAccessDeps, registerHttpAccess } from '../access/http-access.js'

/** What the HTTP server needs to answer health and metrics, and to check every route's permission. */
export interface HttpServerDeps {
  readonly registry: Registry
  /** Health details; the check is healthy when every value is true. */
  readonly health: () => Record<string, boolean>
  readonly access: HttpAccessDeps
  /** False leaves GET /metrics out (http.metricsAccess off); who may read it is in the route table. */
  readonly isMetricsServed: boolean
  /** False leaves GET /api/openapi.json out (http.openApiAccess off). */
  readonly isOpenApiServed: boolean
  /** Proxies whose X-Forwarded-For gives request.ip (http.trustProxy); false: the socket's address. */
  readonly trustProxy: false | readonly string[]
}

/** The error codes of an engine that is away, answered 503 with a retry, and what the answer says. */
const unavailableEngines = {
  POSTGRES_UNAVAILABLE: 'the database cannot be reached; try again shortly',
  REDIS_UNAVAILABLE: 'the login throttle (Redis) cannot be reached; try again shortly',
} as const

/**
 * The collector's HTTP server: the access hook in front of every route, GET /healthz, GET /metrics and
 * the OpenAPI document of every route added after them (GET /api/openapi.json, from @fastify/swagger).
 * The media routes and the extensions add theirs; each needs its line in access/route-permissions.ts.
 */
export async function buildHttpServer(deps: HttpServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    trustProxy: deps.trustProxy === false ? false : [...deps.trustProxy],
  })
  const unavailable = new Counter({
    name: 'doorbell_collector_http_store_unavailable_total',
    help: "HTTP requests answered 503 because a store (a fleet's PostgreSQL or Redis) could not be reached",
    registers: [deps.registry],
  })
  // A fleet's sessions, accounts and settings are in PostgreSQL, its login counts in Redis: while one is
  // away, a request is refused with a retry (503), not a bare 500, and nothing already stored is touched.
  app.setErrorHandler((err, _request, reply) => {
    if (err instanceof DoorbellError && Object.hasOwn(unavailableEngines, err.code)) {
      unavailable.inc()
      return reply
        .code(503)
        .header('retry-after', '1')
        .send({ error: unavailableEngines[err.code as keyof typeof unavailableEngines], code: err.code })
    }
    throw err
  })
  await registerHttpAccess(app, deps.access)
  app.get('/healthz', async (_req, reply) => {
    const checks = deps.health()
    const isHealthy = Object.values(checks).every(Boolean)
    return reply.code(isHealthy ? 200 : 503).send({ status: isHealthy ? 'ok' : 'unavailable', checks })
  })
  if (deps.isMetricsServed) {
    app.get('/metrics', async (_req, reply) => {
      return reply.type(deps.registry.contentType).send(await deps.registry.metrics())
    })
  }
  await app.register(swagger, {
    openapi: {
      info: { title: 'Doorbell collector API', version: '1.0.0' },
      components: {
        securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: 'doorbell_session' } },
      },
    },
  })
  // Who may read it is in the route table (http.openApiAccess, access/route-permissions.ts).
  if (deps.isOpenApiServed)
    app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  return app
}
