import { createHash, timingSafeEqual } from 'node:crypto'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { ulidPattern } from '../../shared/protocol/ids.js'
import type { ClipStore } from '../clips/clip-store.js'
import type { EventStore, StoredEvent } from '../store/event-store.js'

/** Decides whether a request may read media; the dashboard issue replaces it with real sessions. */
export type HttpAuthorizer = (request: FastifyRequest) => boolean | Promise<boolean>

/** Collaborators of the media routes. */
export interface MediaRoutesDeps {
  readonly store: EventStore
  readonly clips: ClipStore
  /** Clip files live under this folder (`<dataDir>/clips`); ranged responses are served from it. */
  readonly clipsRoot: string
  readonly authorize: HttpAuthorizer
}

/** How far after a press its snapshot is looked for (a snapshot follows its press within seconds). */
const snapshotWindowMs = 60_000

/**
 * An authorizer accepting `Authorization: Bearer <token>` (constant-time compare). Without a token it
 * refuses everything: media stays closed until the dashboard issue brings real authentication.
 */
export function bearerTokenAuthorizer(token: string | undefined): HttpAuthorizer {
  const expected = token ? createHash('sha256').update(token).digest() : undefined
  return (request) => {
    const header = request.headers.authorization
    if (!expected || !header?.startsWith('Bearer ')) return false
    const given = createHash('sha256').update(header.slice('Bearer '.length)).digest()
    return timingSafeEqual(given, expected)
  }
}

/**
 * GET /api/clips/:clipId: the verified MP4 with range requests (206, Accept-Ranges, ETag) through
 * @fastify/static's send; GET /api/events/:id/snapshot: the JPEG of a snapshot event, or of the snapshot
 * that enriches the press or motion `id`. Both behind deps.authorize (401 when it refuses).
 */
export async function registerMediaRoutes(app: FastifyInstance, deps: MediaRoutesDeps): Promise<void> {
  // serve:false: only reply.sendFile, no wildcard route over the data folder.
  await app.register(fastifyStatic, { root: deps.clipsRoot, serve: false })
  const guard = async (request: FastifyRequest): Promise<boolean> => {
    try {
      return await deps.authorize(request)
    } catch {
      return false
    }
  }

  app.get<{ Params: { clipId: string } }>('/api/clips/:clipId', async (request, reply) => {
    if (!(await guard(request))) return reply.code(401).send({ error: 'unauthorized' })
    const { clipId } = request.params
    if (!ulidPattern.test(clipId)) return reply.code(400).send({ error: 'bad clip id' })
    const clip = await deps.store.getClip(clipId)
    const isOnDisk = clip?.isComplete && deps.clips.clipPath(clip.deviceId, clipId) !== undefined
    if (!clip || !isOnDisk) return reply.code(404).send({ error: 'no such clip' })
    // The clip is immutable once verified: cache it, and let send answer Range / If-Range / ETag.
    return reply.type('video/mp4').sendFile(`${clip.deviceId}/${clipId}.mp4`, {
      acceptRanges: true,
      cacheControl: true,
      maxAge: '7d',
      immutable: true,
    })
  })

  app.get<{ Params: { id: string } }>('/api/events/:id/snapshot', async (request, reply) => {
    if (!(await guard(request))) return reply.code(401).send({ error: 'unauthorized' })
    const { id } = request.params
    if (!ulidPattern.test(id)) return reply.code(400).send({ error: 'bad event id' })
    const snapshot = await findSnapshot(deps.store, id)
    if (!snapshot) return reply.code(404).send({ error: 'no snapshot' })
    return reply
      .type('image/jpeg')
      .header('cache-control', 'private, max-age=604800, immutable')
      .send(Buffer.from(snapshot.payload.data, 'base64'))
  })
}

type SnapshotEvent = Extract<StoredEvent, { type: 'snapshot' }>

/** The snapshot event `id`, or the first snapshot relating to event `id`. */
async function findSnapshot(store: EventStore, id: string): Promise<SnapshotEvent | undefined> {
  const event = await store.getEvent(id)
  if (!event) return undefined
  if (event.type === 'snapshot') return event as SnapshotEvent
  const fromMs = Date.parse(event.capturedAt)
  let cursor: string | undefined
  do {
    const page = await store.queryEvents({
      deviceId: event.deviceId,
      type: 'snapshot',
      fromMs,
      toMs: fromMs + snapshotWindowMs,
      limit: 100,
      ...(cursor ? { cursor } : {}),
    })
    const found = page.items.find((e) => e.type === 'snapshot' && e.payload.relatesTo === id)
    if (found) return found as SnapshotEvent
    cursor = page.nextCursor
  } while (cursor)
  return undefined
}
