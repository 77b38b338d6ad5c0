import type { FastifyInstance } from 'fastify'
import { Counter, Histogram, type Registry } from 'prom-client'
import { ulidPattern } from '../../shared/protocol/index.js'
import type { EventStore } from '../store/event-store.js'
import { findSnapshotOf } from '../store/related-media.js'
import type { SharpSnapshotThumbnailer, ThumbnailResult } from './snapshot-thumbnailer.js'

/** Counters of the thumbnail route, registered into the collector's registry. */
export class ThumbnailMetrics {
  readonly requests = new Counter({
    name: 'doorbell_dashboard_thumbnails_total',
    help: 'Timeline thumbnails asked for, by result (made, cached, busy, undecodable, missing)',
    labelNames: ['result'] as const,
    registers: [],
  })
  readonly makeSeconds = new Histogram({
    name: 'doorbell_dashboard_thumbnail_make_seconds',
    help: 'Time to make one thumbnail from a snapshot, waiting for a turn included',
    buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
    registers: [],
  })

  /** Adds these metrics to a registry. */
  registerInto(registry: Registry): void {
    registry.registerMetric(this.requests)
    registry.registerMetric(this.makeSeconds)
  }
}

/** Collaborators of the thumbnail route. */
export interface ThumbnailRoutesDeps {
  readonly store: EventStore
  readonly thumbnails: SharpSnapshotThumbnailer
  readonly metrics: ThumbnailMetrics
}

/**
 * GET /api/events/:id/thumbnail: a small JPEG of the snapshot event `id`, or of the first snapshot that
 * relates to the press or motion `id` (the one related-media lookup). Immutable once it exists, so the
 * browser keeps it; a press whose snapshot has not arrived yet answers 404, not cached.
 */
export function registerThumbnailRoutes(app: FastifyInstance, deps: ThumbnailRoutesDeps): void {
  app.get<{ Params: { id: string } }>(
    '/api/events/:id/thumbnail',
    { schema: { tags: ['events'], summary: 'A small JPEG of the snapshot of an event, for the timeline' } },
    async (request, reply) => {
      const { id } = request.params
      if (!ulidPattern.test(id)) return reply.code(400).send({ error: 'bad event id' })
      const event = await deps.store.getEvent(id)
      const snapshot = event ? await findSnapshotOf(deps.store, event) : undefined
      if (!snapshot) {
        deps.metrics.requests.inc({ result: 'missing' })
        return reply.code(404).header('cache-control', 'no-store').send({ error: 'no snapshot' })
      }
      const startedAtMs = performance.now()
      const result: ThumbnailResult = await deps.thumbnails.thumbnail(snapshot.id, () =>
        Buffer.from(snapshot.payload.data, 'base64'),
      )
      deps.metrics.requests.inc({ result: result.kind })
      switch (result.kind) {
        case 'made':
        case 'cached':
          if (result.kind === 'made')
            deps.metrics.makeSeconds.observe((performance.now() - startedAtMs) / 1000)
          return reply
            .type('image/jpeg')
            .header('cache-control', 'private, max-age=604800, immutable')
            .send(result.jpeg)
        case 'busy':
          return reply
            .code(503)
            .header('retry-after', '1')
            .send({ error: 'too many thumbnails are being made; try again' })
        case 'undecodable':
          return reply
            .code(422)
            .send({ error: `the snapshot is not a decodable image: ${result.err.message}` })
      }
    },
  )
}
