import type { AlertEvent } from '../alerts/alert-event.js'
import type { ClipResendReport } from '../clips/clip-recovery.js'
import type { ForwardOutcome } from '../forwarding/forward-dispatcher.js'
import type { CommitResult } from '../ingest/commit-result.js'
import type { RejectReason } from '../ingest/ingest-item.js'
import type { LiveEvent } from '../live/live-service.js'
import type { StoredEvent } from '../store/event-store.js'

/**
 * Everything that happens in the collector, as events on its bus (event-bus.ts): what the core reports,
 * what the extensions report, and the facts extensions react to (`stored`, `committed`, `presence`).
 * Core modules never log; main.ts decides what to log from these.
 */
export type CollectorEvent = CoreEvent | AlertEvent | LiveEvent

/** What the core and the clip extensions report. */
export type CoreEvent =
  | {
      readonly kind: 'rejected'
      readonly reason: RejectReason
      readonly clientId?: string
      readonly deviceId?: string
    }
  | { readonly kind: 'client_connected'; readonly clientId: string }
  | { readonly kind: 'client_disconnected'; readonly clientId: string }
  | { readonly kind: 'client_error'; readonly clientId: string; readonly err: Error }
  | { readonly kind: 'presence'; readonly deviceId: string; readonly state: 'online' | 'offline' }
  /** A device published on its live topic (live-view signalling, collector/live/): volatile, never stored. */
  | { readonly kind: 'live_signal'; readonly deviceId: string; readonly payload: Buffer }
  /** The device registry changed on disk (admin CLI); the devices that may connect now. */
  | { readonly kind: 'registry_changed'; readonly enabledDeviceIds: readonly string[] }
  /** A read-only service user (e.g. Home Assistant) subscribed; filters are the ones granted. */
  | {
      readonly kind: 'service_subscribed'
      readonly user: string
      readonly clientId: string
      readonly filters: readonly string[]
    }
  /** Newly stored events, after their commit, in arrival order. */
  | { readonly kind: 'stored'; readonly events: readonly StoredEvent[] }
  /** One group commit: what it stored (events and chunks), refused and acked. */
  | { readonly kind: 'committed'; readonly result: CommitResult }
  | { readonly kind: 'commit_failed'; readonly err: unknown; readonly itemCount: number }
  | { readonly kind: 'ack_failed'; readonly deviceId: string; readonly err: unknown }
  | { readonly kind: 'forward'; readonly outcome: ForwardOutcome }
  | { readonly kind: 'clip'; readonly deviceId: string; readonly clipId: string; readonly verdict: string }
  | ({ readonly kind: 'clip_resend' } & ClipResendReport)
  | { readonly kind: 'retention'; readonly deletedCount: number; readonly deletedClipCount: number }
  /** In a fleet: this node took or gave up the lease of a once-per-fleet task (docs/fleet.md). */
  | { readonly kind: 'lease'; readonly name: string; readonly isLeader: boolean }
  /** A homeowner asked for a test notification on their channels (the dashboard's settings page). */
  | { readonly kind: 'test_notification'; readonly user: string }
  /**
   * The collector is about to stop taking input. What follows (the last wills of connected devices,
   * the final commits) is the collector's shutdown, not something the devices did.
   */
  | { readonly kind: 'stopping' }
  /** A listener threw; the bus went on with the others (counted in doorbell_collector_listener_failures_total). */
  | {
      readonly kind: 'listener_failed'
      readonly listener: string
      readonly event: CollectorEvent['kind']
      readonly err: unknown
    }
  | { readonly kind: 'task_failed'; readonly task: string; readonly err: unknown }

/** The kinds of event on the bus. */
export type CollectorEventKind = CollectorEvent['kind']

/** The event of one kind. */
export type CollectorEventOf<K extends CollectorEventKind> = Extract<CollectorEvent, { readonly kind: K }>
