import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'
import { ulidPattern } from '../../shared/protocol/ids.js'
import type { ClipStore } from '../clips/clip-store.js'
import type { EventStore } from '../store/event-store.js'
import { findSnapshotOf, mediaPaths } from '../store/related-media.js'

/** Collaborators of the media routes. */
export interface MediaRoutesDeps {
  readonly store: EventStore
  readonly clips: ClipStore
  /** Clip files live under this folder (`<dataDir>/clips`); ranged responses are served from it. */
  readonly clipsRoot: string
}

/**
 * GET /api/clips/:clipId: the verified MP4 with range requests (206, Accept-Ranges, ETag) through
 * @fastify/static's send; GET /api/events/:id/snapshot: the JPEG of a snapshot event, or of the snapshot
 * that enriches the press or motion `id`. Both need media:read (access/route-permissions.ts).
 */
export async function registerMediaRoutes(app: FastifyInstance, deps: MediaRoutesDeps): Promise<void> {
  // serve:false: only reply.sendFile, no wildcard route over the data folder.
  await app.register(fastifyStatic, { root: deps.clipsRoot, serve: false })

  app.get<{ Params: { clipId: string } }>(mediaPaths.clipRoute, async (request, reply) => {
    const { clipId } = request.params
    if (!ulidPattern.test(clipId)) return reply.code(400).send({ error: 'bad clip id' })
    const clip = await deps.store.getClip(clipId)
    const isOnDisk =
      clip?.state === 'complete' && (await deps.clips.clipFile(clip.deviceId, clipId)) !== undefined
    if (!clip || !isOnDisk) return reply.code(404).send({ error: 'no such clip' })
    // The clip is immutable once verified: cache it, and let send answer Range / If-Range / ETag.
    return reply.type('video/mp4').sendFile(`${clip.deviceId}/${clipId}.mp4`, {
      acceptRanges: true,
      cacheControl: true,
      maxAge: '7d',
      immutable: true,
    })
  })

  app.get<{ Params: { id: string } }>(mediaPaths.snapshotRoute, async (request, reply) => {
    const { id } = request.params
    if (!ulidPattern.test(id)) return reply.code(400).send({ error: 'bad event id' })
    const event = await deps.store.getEvent(id)
    const snapshot = event ? await findSnapshotOf(deps.store, event) : undefined
    if (!snapshot) return reply.code(404).send({ error: 'no snapshot' })
    return reply
      .type('image/jpeg')
      .header('cache-control', 'private, max-age=604800, immutable')
      .send(Buffer.from(snapshot.payload.data, 'base64'))
  })
}
