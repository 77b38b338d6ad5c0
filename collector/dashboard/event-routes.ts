import type { FastifyInstance } from 'fastify'
import { type EventClass, isMessageType, messageTypeNames, ulidPattern } from '../../shared/protocol/index.js'
import { sessionOf } from '../access/http-access.js'
import type { EventStore, StoredEvent } from '../store/event-store.js'
import { findRelatedMedia, findRelatedMediaOfEach } from '../store/related-media.js'
import type { DashboardRoutesDeps } from './dashboard-routes.js'
import { type EventSummary, summarizeEvent } from './event-summary.js'

const eventListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    deviceId: { type: 'string', maxLength: 64 },
    type: { type: 'string', enum: messageTypeNames },
    class: { type: 'string', enum: ['high', 'medium', 'low'] },
    fromMs: { type: 'integer', minimum: 0, description: 'inclusive, capture time, ms since the epoch' },
    toMs: { type: 'integer', minimum: 0, description: 'exclusive' },
    limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
    cursor: { type: 'string', maxLength: 200, description: 'nextCursor of the previous page' },
    order: { type: 'string', enum: ['newest', 'oldest'], default: 'newest' },
  },
} as const
const readingsQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { type: 'string', enum: ['temperature', 'light'] },
    deviceId: { type: 'string', maxLength: 64 },
    fromMs: { type: 'integer', minimum: 0 },
    toMs: { type: 'integer', minimum: 0 },
    limit: { type: 'integer', minimum: 1, maximum: 2000, default: 500 },
  },
} as const

/** Events (paged, filtered, one with its media, live over SSE) and readings for the charts. */
export function registerEventRoutes(app: FastifyInstance, deps: DashboardRoutesDeps): void {
  app.get(
    '/api/events',
    {
      schema: {
        tags: ['events'],
        summary:
          'Stored events, newest first, paginated by cursor, filterable by device, type, class and time; ' +
          'a press or motion carries `media` {snapshotId, clipId} (null until they arrive)',
        querystring: eventListQuery,
      },
    },
    async (request) => {
      const q = request.query as {
        deviceId?: string
        type?: string
        class?: EventClass
        fromMs?: number
        toMs?: number
        limit: number
        cursor?: string
        order: 'newest' | 'oldest'
      }
      const page = await deps.store.queryEvents({
        ...(q.deviceId ? { deviceId: q.deviceId } : {}),
        ...(q.type && isMessageType(q.type) ? { type: q.type } : {}),
        ...(q.class ? { eventClass: q.class } : {}),
        ...(q.fromMs !== undefined ? { fromMs: q.fromMs } : {}),
        ...(q.toMs !== undefined ? { toMs: q.toMs } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
        limit: q.limit,
        isNewestFirst: q.order === 'newest',
      })
      return {
        items: await summarizeWithMedia(deps.store, page.items),
        ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
      }
    },
  )

  app.get(
    '/api/events/stream',
    {
      schema: {
        tags: ['events'],
        summary: 'Server-Sent Events: `stored` for each new press, motion, snapshot, clip',
      },
    },
    async (request, reply) => {
      reply.hijack()
      // The CSRF token is unique per session and is what logout knows: it keys the session's streams.
      const session = sessionOf(request)
      deps.hub.add(reply.raw, session?.csrfToken ?? '', session?.user ?? '')
    },
  )

  app.get(
    '/api/events/:id',
    {
      schema: {
        tags: ['events'],
        summary: 'One event, with the snapshots and clip manifests that relate to it',
        params: {
          type: 'object',
          properties: { id: { type: 'string', pattern: ulidPattern.source } },
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string }
      const event = await deps.store.getEvent(id)
      if (!event) return reply.code(404).send({ error: 'no such event' })
      const related = await findRelatedMedia(deps.store, event)
      return {
        event: summarizeEvent(event),
        snapshotIds: related.snapshots.map((e) => e.id),
        clipIds: related.clipManifests.map((e) => e.payload.clipId),
      }
    },
  )

  app.get(
    '/api/readings',
    {
      schema: {
        tags: ['readings'],
        summary: 'Temperature or light readings over time',
        querystring: readingsQuery,
      },
    },
    async (request) => {
      const q = request.query as {
        type: 'temperature' | 'light'
        deviceId?: string
        fromMs?: number
        toMs?: number
        limit: number
      }
      const page = await deps.store.queryEvents({
        type: q.type,
        ...(q.deviceId ? { deviceId: q.deviceId } : {}),
        fromMs: q.fromMs ?? Date.now() - 24 * 60 * 60 * 1000,
        ...(q.toMs !== undefined ? { toMs: q.toMs } : {}),
        limit: q.limit,
        isNewestFirst: true,
      })
      const points = page.items.reverse().map((e) => ({
        deviceId: e.deviceId,
        at: e.capturedAt,
        value: e.type === 'temperature' ? e.payload.celsius : e.type === 'light' ? e.payload.lux : null,
      }))
      return { type: q.type, unit: q.type === 'temperature' ? '°C' : 'lx', points }
    },
  )
}

/** Types whose rows show the media that relate to them (the timeline's thumbnail and clip badge). */
const typesWithMedia = new Set(['button.press', 'motion'])

/** Media of a row: the first snapshot and clip that relate to it, null until they arrive. */
type RowMedia = { readonly snapshotId: string | null; readonly clipId: string | null }

/** The summaries of a page, a press or motion with its first related snapshot and clip (one lookup). */
async function summarizeWithMedia(
  store: EventStore,
  events: readonly StoredEvent[],
): Promise<(EventSummary & { media?: RowMedia })[]> {
  const related = await findRelatedMediaOfEach(
    store,
    events.filter((e) => typesWithMedia.has(e.type)),
  )
  return events.map((event) => {
    const media = related.get(event.id)
    if (!media) return summarizeEvent(event)
    return {
      ...summarizeEvent(event),
      media: {
        snapshotId: media.snapshots[0]?.id ?? null,
        clipId: media.clipManifests[0]?.payload.clipId ?? null,
      },
    }
  })
}
