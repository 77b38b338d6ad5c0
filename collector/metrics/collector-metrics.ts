import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { EventClass } from '../../shared/protocol/index.js'
import type { CommitResult } from '../ingest/commit-result.js'
import type { RejectReason } from '../ingest/ingest-item.js'

/** Sources read when /metrics is scraped. */
export interface MetricSources {
  readonly connectedClients: () => number
  readonly ingestQueue: () => number
  /** MQTT sessions held, connected or offline. */
  readonly sessions?: () => number
  /** Bytes held by connections not yet authenticated. */
  readonly preAuthBytes?: () => number
}

/** The collector's Prometheus metrics, in a registry of its own (several collectors may share a process). */
export class PromCollectorMetrics {
  readonly registry = new Registry()
  readonly rejections = new Counter({
    name: 'doorbell_collector_rejections_total',
    help: 'Refused connections, packets, publishes, subscriptions and envelopes, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  })
  readonly storedEvents = new Counter({
    name: 'doorbell_collector_events_stored_total',
    help: 'Events durably stored for the first time, by class',
    labelNames: ['class'] as const,
    registers: [this.registry],
  })
  readonly storedChunks = new Counter({
    name: 'doorbell_collector_chunks_stored_total',
    help: 'Clip chunks durably written',
    registers: [this.registry],
  })
  readonly duplicates = new Counter({
    name: 'doorbell_collector_duplicates_total',
    help: 'Envelopes received again after they were stored (acked again, not stored again)',
    registers: [this.registry],
  })
  readonly commits = new Histogram({
    name: 'doorbell_collector_commit_seconds',
    help: 'Duration of one group commit (dedup lookup, chunk fsync, Level batch)',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  })
  readonly commitFailures = new Counter({
    name: 'doorbell_collector_commit_failures_total',
    help: 'Group commits that failed (their items were nacked with retry)',
    registers: [this.registry],
  })
  readonly acks = new Counter({
    name: 'doorbell_collector_acks_published_total',
    help: 'Ack envelopes published to devices',
    registers: [this.registry],
  })
  readonly listenerFailures = new Counter({
    name: 'doorbell_collector_listener_failures_total',
    help: 'Bus listeners that threw (the others still ran), by listener (extension) and event kind',
    labelNames: ['listener', 'event'] as const,
    registers: [this.registry],
  })
  readonly forwards = new Counter({
    name: 'doorbell_collector_forwards_total',
    help: 'Events handed to forwarders (high class, and media relating to them), by forwarder and outcome',
    labelNames: ['forwarder', 'outcome'] as const,
    registers: [this.registry],
  })

  readonly sessionDrops = new Counter({
    name: 'doorbell_collector_session_drops_total',
    help: 'What the session bounds dropped: what (message, session) and reason (queue_full, expired, evicted)',
    labelNames: ['what', 'reason'] as const,
    registers: [this.registry],
  })

  constructor(sources: MetricSources) {
    new Gauge({
      name: 'doorbell_collector_sessions',
      help: 'MQTT sessions held now, connected or persistent and offline',
      registers: [this.registry],
      collect() {
        this.set(sources.sessions?.() ?? 0)
      },
    })
    new Gauge({
      name: 'doorbell_collector_preauth_bytes',
      help: 'Bytes held by connections that are not authenticated yet',
      registers: [this.registry],
      collect() {
        this.set(sources.preAuthBytes?.() ?? 0)
      },
    })
    new Gauge({
      name: 'doorbell_collector_connected_clients',
      help: 'MQTT clients connected now',
      registers: [this.registry],
      collect() {
        this.set(sources.connectedClients())
      },
    })
    new Gauge({
      name: 'doorbell_collector_ingest_queue',
      help: 'Items waiting for the next group commit',
      registers: [this.registry],
      collect() {
        this.set(sources.ingestQueue())
      },
    })
  }

  /** Counts one rejection. */
  reject(reason: RejectReason, count = 1): void {
    this.rejections.inc({ reason }, count)
  }

  /** Counts what one commit stored and deduplicated, and how long it took. */
  countCommit(result: CommitResult): void {
    if (result.stored.length > 0 || result.storedChunks.length > 0)
      this.commits.observe(result.durationMs / 1000)
    const byClass: Record<EventClass, number> = { high: 0, medium: 0, low: 0 }
    for (const event of result.stored) byClass[event.class] += 1
    for (const eventClass of ['high', 'medium', 'low'] as const) {
      if (byClass[eventClass] > 0) this.stored(eventClass, byClass[eventClass])
    }
    if (result.storedChunks.length > 0) this.storedChunks.inc(result.storedChunks.length)
    if (result.duplicateCount > 0) this.duplicates.inc(result.duplicateCount)
  }

  /** Counts stored events. */
  stored(eventClass: EventClass, count = 1): void {
    this.storedEvents.inc({ class: eventClass }, count)
  }
}
