import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'

/** Decides whether a request may use a guarded route (the operator's bearer token, a homeowner session). */
export type HttpAuthorizer = (request: FastifyRequest) => boolean | Promise<boolean>

/** Constant-time comparison of two secrets of any length (hashes first, so lengths do not leak). */
export function isSameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

/**
 * The operator's authorizer: accepts `Authorization: Bearer <token>` (the one operator token,
 * `http.apiToken`). Without a configured token it refuses every request, so operator access is off.
 */
export function bearerTokenAuthorizer(token: string | undefined): HttpAuthorizer {
  return (request) => {
    const header = request.headers.authorization
    if (!token || !header?.startsWith('Bearer ')) return false
    return isSameSecret(header.slice('Bearer '.length), token)
  }
}

/** True when `authorize` accepts the request; an authorizer that throws refuses. */
async function isAuthorized(authorize: HttpAuthorizer, request: FastifyRequest): Promise<boolean> {
  try {
    return await authorize(request)
  } catch {
    return false
  }
}

/**
 * The one refusal of every guarded route, token configured or not: 401 with `WWW-Authenticate: Bearer`
 * (RFC 9110 15.5.2). A missing `http.apiToken` is not a 503: the routes are not unavailable, a session or
 * a token configured later opens them, and the answer does not tell a stranger whether a token is set.
 */
function replyUnauthorized(reply: FastifyReply): FastifyReply {
  return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'bad or missing bearer token' })
}

/** A preHandler that lets a request through when `authorize` accepts it, and answers 401 otherwise. */
export function requireAuthorized(authorize: HttpAuthorizer) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!(await isAuthorized(authorize, request))) await replyUnauthorized(reply)
  }
}
