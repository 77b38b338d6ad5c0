import { Counter, Histogram, type Metric, type Registry } from 'prom-client'

/** Buckets from 50 ms to 2 days: the high SLA is 1 s, the low one 24 h. */
const latencyBucketsS = [
  0.05,
  0.1,
  0.25,
  0.5,
  0.75,
  1,
  2,
  5,
  10,
  30,
  60,
  300,
  1800,
  3600,
  6 * 3600,
  24 * 3600,
  48 * 3600,
]

/** The alert pipeline's Prometheus metrics; registered into the collector's registry so /metrics shows them. */
export class AlertMetrics {
  readonly latency = new Histogram({
    name: 'doorbell_alerts_sla_latency_seconds',
    help: 'Capture on the device to delivery (channel) or storage (store, clip), by class and channel',
    labelNames: ['class', 'channel'] as const,
    buckets: latencyBucketsS,
    registers: [],
  })
  readonly violations = new Counter({
    name: 'doorbell_alerts_sla_violations_total',
    help: 'Deliveries or stores slower than the SLA target of their class',
    labelNames: ['class', 'channel'] as const,
    registers: [],
  })
  readonly deliveries = new Counter({
    name: 'doorbell_alerts_deliveries_total',
    help: 'Delivery attempts by channel and outcome (sent, retry, dead_letter, dropped)',
    labelNames: ['channel', 'outcome'] as const,
    registers: [],
  })
  readonly suppressed = new Counter({
    name: 'doorbell_alerts_suppressed_total',
    help: 'Alerts not sent to a user, by reason (cooldown, quiet_hours, kind_off, parent_suppressed, foreign_device)',
    labelNames: ['reason'] as const,
    registers: [],
  })
  readonly routingFailures = new Counter({
    name: 'doorbell_alerts_routing_failures_total',
    help: 'Alerts that could not be routed to one user (a bad setting, e.g. an unknown time zone); the others still got it',
    registers: [],
  })
  readonly endpointsRefused = new Counter({
    name: 'doorbell_alerts_push_endpoints_refused_total',
    help: 'Web Push endpoints refused for not being https on a public address, at registration or at send',
    labelNames: ['at'] as const,
    registers: [],
  })
  readonly subscriptionsEvicted = new Counter({
    name: 'doorbell_alerts_push_subscriptions_evicted_total',
    help: "Web Push subscriptions removed to keep a user within limits.pushSubscriptionsPerUser (the user's oldest)",
    registers: [],
  })
  readonly raised = new Counter({
    name: 'doorbell_alerts_raised_total',
    help: 'Alerts raised, by kind (press, motion, offline, online, temperature, sla, delivery)',
    labelNames: ['kind'] as const,
    registers: [],
  })

  readonly #latencyChildren = new Map<string, { observe(seconds: number): void }>()

  /**
   * The latency histogram of one class and channel. Stored medium events are observed one by one at ingest
   * rate, so the child is looked up once rather than hashing its labels on every observation.
   */
  latencyOf(eventClass: string, channel: string): { observe(seconds: number): void } {
    const key = `${eventClass}\u0000${channel}`
    let child = this.#latencyChildren.get(key)
    if (!child) {
      child = this.latency.labels({ class: eventClass, channel })
      this.#latencyChildren.set(key, child)
    }
    return child
  }

  /** Adds every metric to a registry (the collector's). */
  registerInto(registry: Registry): void {
    const metrics: Metric<string>[] = [
      this.latency,
      this.violations,
      this.deliveries,
      this.suppressed,
      this.raised,
      this.routingFailures,
      this.endpointsRefused,
      this.subscriptionsEvicted,
    ] as Metric<string>[]
    for (const metric of metrics) registry.registerMetric(metric)
  }
}
