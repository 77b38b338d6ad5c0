import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { type ErrorCode, isDoorbellError } from '../../shared/errors.js'
import { isValidDeviceId } from '../../shared/protocol/index.js'
import type { LiveService } from './live-service.js'
import type { LivePrincipal } from './live-session.js'

/** HTTP status of each live-view refusal. */
const statusOf: Partial<Record<ErrorCode, number>> = {
  LIVE_SIGNAL_INVALID: 400,
  LIVE_FORBIDDEN: 403,
  LIVE_SESSION_NOT_FOUND: 404,
  LIVE_FULL: 409,
  RATE_LIMITED: 429,
  LIVE_UNAVAILABLE: 503,
}

/** Who is asking: the signed-in homeowner of a request (the dashboard's session), or nobody. */
export type LivePrincipalOf = (request: FastifyRequest) => LivePrincipal | undefined

async function refuse(reply: FastifyReply, err: unknown): Promise<FastifyReply> {
  if (!isDoorbellError(err)) throw err
  return reply.code(statusOf[err.code] ?? 500).send({ error: err.message, code: err.code, fix: err.fix })
}

const viewerParams = {
  type: 'object',
  required: ['viewerId'],
  properties: { viewerId: { type: 'string', pattern: '^[A-Za-z0-9_-]{22}$' } },
} as const

/**
 * The live view's signalling API (docs/live.md). Every route needs a signed-in homeowner; the unsafe
 * ones also carry the session's CSRF token (checked by the dashboard's session hook before this runs).
 * A viewer id belongs to the homeowner who joined with it.
 */
export function registerLiveRoutes(
  app: FastifyInstance,
  live: LiveService,
  principalOf: LivePrincipalOf,
): void {
  const signedIn = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!principalOf(request)) await reply.code(401).send({ error: 'log in first' })
  }
  const who = (request: FastifyRequest): LivePrincipal => principalOf(request) as LivePrincipal

  app.post(
    '/api/live/:deviceId/viewers',
    {
      schema: {
        tags: ['live'],
        summary:
          'Opens a live view of a device: returns the SDP offer to answer (starts the device if needed)',
        params: { type: 'object', required: ['deviceId'], properties: { deviceId: { type: 'string' } } },
      },
      preHandler: signedIn,
    },
    async (request, reply) => {
      const { deviceId } = request.params as { deviceId: string }
      if (!isValidDeviceId(deviceId))
        return reply.code(400).send({ error: 'invalid device id', code: 'LIVE_SIGNAL_INVALID' })
      try {
        return reply.code(201).send(await live.join(deviceId, who(request)))
      } catch (err) {
        return refuse(reply, err)
      }
    },
  )

  app.post(
    '/api/live/viewers/:viewerId/answer',
    {
      schema: { tags: ['live'], summary: "The browser's SDP answer for its viewer", params: viewerParams },
      preHandler: signedIn,
    },
    async (request, reply) => {
      const { viewerId } = request.params as { viewerId: string }
      try {
        live.answer(viewerId, who(request), (request.body as { sdp?: unknown } | null)?.sdp)
        return reply.code(204).send()
      } catch (err) {
        return refuse(reply, err)
      }
    },
  )

  app.post(
    '/api/live/viewers/:viewerId/talk',
    {
      schema: {
        tags: ['live'],
        summary: 'Push-to-talk: take or release the floor (owner by default)',
        params: viewerParams,
      },
      preHandler: signedIn,
    },
    async (request, reply) => {
      const { viewerId } = request.params as { viewerId: string }
      try {
        return live.talk(viewerId, who(request), (request.body as { isTalking?: unknown } | null)?.isTalking)
      } catch (err) {
        return refuse(reply, err)
      }
    },
  )

  app.post(
    '/api/live/viewers/:viewerId/fallback',
    {
      schema: {
        tags: ['live'],
        summary:
          "WebRTC did not connect: a one-time ticket (in `url`) to open the fallback's WebSocket, fragmented MP4",
        params: viewerParams,
      },
      preHandler: signedIn,
    },
    async (request, reply) => {
      const { viewerId } = request.params as { viewerId: string }
      try {
        return reply.code(201).send(live.fallbackTicket(viewerId, who(request)))
      } catch (err) {
        return refuse(reply, err)
      }
    },
  )

  app.post(
    '/api/live/viewers/:viewerId/keepalive',
    {
      schema: {
        tags: ['live'],
        summary: "Keeps a viewer in its session; returns the session's state",
        params: viewerParams,
      },
      preHandler: signedIn,
    },
    async (request, reply) => {
      const { viewerId } = request.params as { viewerId: string }
      try {
        return live.keepalive(viewerId, who(request))
      } catch (err) {
        return refuse(reply, err)
      }
    },
  )

  app.delete(
    '/api/live/viewers/:viewerId',
    {
      schema: {
        tags: ['live'],
        summary: 'Leaves the live view; the last viewer ends the session',
        params: viewerParams,
      },
      preHandler: signedIn,
    },
    async (request, reply) => {
      const { viewerId } = request.params as { viewerId: string }
      try {
        live.leave(viewerId, who(request))
        return reply.code(204).send()
      } catch (err) {
        return refuse(reply, err)
      }
    },
  )
}
