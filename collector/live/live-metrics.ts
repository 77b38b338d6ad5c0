import { Counter, Gauge, type Registry } from 'prom-client'
import type { ErrorCode } from '../../shared/errors.js'

/** Prometheus metrics of the live view, in the collector's registry. */
export class LiveMetrics {
  readonly sessions: Counter<'reason'>
  readonly refusals: Counter<'code'>
  readonly badSignals: Counter<'source'>
  readonly fallbacks: Counter
  readonly activeSessions: Gauge
  readonly activeViewers: Gauge

  constructor(registry: Registry, counts: { sessions: () => number; viewers: () => number }) {
    this.sessions = new Counter({
      name: 'doorbell_collector_live_sessions_total',
      help: 'Live sessions ended, by why they ended',
      labelNames: ['reason'],
      registers: [registry],
    })
    this.refusals = new Counter({
      name: 'doorbell_collector_live_refusals_total',
      help: 'Live-view requests refused, by error code',
      labelNames: ['code'],
      registers: [registry],
    })
    this.badSignals = new Counter({
      name: 'doorbell_collector_live_bad_signals_total',
      help: 'Live signalling from devices that was malformed, unexpected or carried a wrong token (ignored)',
      labelNames: ['source'],
      registers: [registry],
    })
    this.fallbacks = new Counter({
      name: 'doorbell_collector_live_fallbacks_total',
      help: 'Viewers whose page switched to the fallback (fragmented MP4 over WebSocket): no WebRTC path',
      registers: [registry],
    })
    this.activeSessions = new Gauge({
      name: 'doorbell_collector_live_sessions_active',
      help: 'Live sessions running now',
      registers: [registry],
      collect() {
        this.set(counts.sessions())
      },
    })
    this.activeViewers = new Gauge({
      name: 'doorbell_collector_live_viewers_active',
      help: 'Browsers watching a live session now',
      registers: [registry],
      collect() {
        this.set(counts.viewers())
      },
    })
  }

  refused(code: ErrorCode): void {
    this.refusals.inc({ code })
  }
}
