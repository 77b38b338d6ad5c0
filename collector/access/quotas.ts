import type { CollectorConfig } from '../config.js'
import type { LiveStreamLimits } from '../dashboard/event-stream.js'
import type { DashboardLoginLimits } from '../dashboard/login-throttle.js'

/**
 * What one principal, or everyone together, may use: the rate limits and caps that keep one device or
 * one stranger from taking the collector's time. Each has a default; those under `limits` in the config
 * can be changed there.
 */
export interface Quotas {
  /** Per device: sustained publishes per second and the burst above it (a token bucket). */
  readonly devicePublishes: { readonly perSecond: number; readonly burst: number }
  /** Per device: bytes it may have stored, as a token bucket refilled over a day (limits.deviceBytesPerDay). */
  readonly deviceBytes: { readonly perSecond: number; readonly burst: number }
  /**
   * Slow MQTT secret checks (registry entries still holding an scrypt hash from before the fast format, on
   * libuv's small thread pool that Level shares) running at once and waiting; beyond that a CONNECT is
   * refused at once (auth_busy) rather than stalling group commits. Fast-hash checks need no gate.
   */
  readonly credentialChecks: { readonly maxRunning: number; readonly maxWaiting: number }
  /**
   * Failed dashboard logins per address and account (tight), per address and per account (looser: a
   * household shares one address behind NAT), with backoff.
   */
  readonly loginFailures: DashboardLoginLimits
  /** Web Push subscriptions per homeowner; a new one beyond it replaces their oldest. */
  readonly pushSubscriptionsPerUser: number
  /**
   * Live event streams (SSE) open at once per session, per user and in total; a new one past a cap closes
   * the oldest of that session, of that user, or of the user holding the most.
   */
  readonly liveStreams: LiveStreamLimits
  /** How long a dashboard login lasts. */
  readonly sessionTtlMs: number
}

/** Rules of each network endpoint (MQTT over TCP, WebSocket and TLS). */
export interface EndpointRules {
  /** Largest MQTT packet; the connection is cut as soon as a larger one is declared. */
  readonly maxPacketBytes: number
  /** Time a new connection has to send CONNECT. */
  readonly connectTimeoutMs: number
}

/** The quotas of a config. */
export function quotasFrom(config: CollectorConfig): Quotas {
  return {
    devicePublishes: {
      perSecond: config.limits.devicePublishesPerS,
      burst: config.limits.devicePublishBurst,
    },
    deviceBytes: {
      perSecond: config.limits.deviceBytesPerDay / 86_400,
      burst: config.limits.deviceBytesPerDay,
    },
    credentialChecks: {
      maxRunning: config.limits.login.maxSlowChecks,
      maxWaiting: config.limits.login.maxSlowChecksWaiting,
    },
    loginFailures: config.limits.dashboardLogin,
    pushSubscriptionsPerUser: config.limits.pushSubscriptionsPerUser,
    liveStreams: config.limits.liveStreams,
    sessionTtlMs: 14 * 24 * 60 * 60 * 1000,
  }
}

/** The endpoint rules of a config. */
export function endpointRulesFrom(config: CollectorConfig): EndpointRules {
  return {
    maxPacketBytes: config.limits.maxPacketBytes,
    connectTimeoutMs: config.limits.connectTimeoutMs,
  }
}
