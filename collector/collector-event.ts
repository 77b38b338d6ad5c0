import type { ClipResendReport } from './clips/clip-recovery.js'
import type { ForwardOutcome } from './forwarding/forward-dispatcher.js'
import type { RejectReason } from './ingest/ingest-item.js'

/** Things the collector reports for main.ts to log. Core modules never log themselves. */
export type CollectorEvent =
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
  /** The device registry changed on disk (admin CLI); the devices that may connect now. */
  | { readonly kind: 'registry_changed'; readonly enabledDeviceIds: readonly string[] }
  /** A read-only service user (e.g. Home Assistant) subscribed; filters are the ones granted. */
  | {
      readonly kind: 'service_subscribed'
      readonly user: string
      readonly clientId: string
      readonly filters: readonly string[]
    }
  | { readonly kind: 'commit_failed'; readonly err: unknown; readonly itemCount: number }
  | { readonly kind: 'ack_failed'; readonly deviceId: string; readonly err: unknown }
  | { readonly kind: 'forward'; readonly outcome: ForwardOutcome }
  | { readonly kind: 'clip'; readonly deviceId: string; readonly clipId: string; readonly verdict: string }
  | ({ readonly kind: 'clip_resend' } & ClipResendReport)
  | { readonly kind: 'retention'; readonly deletedCount: number; readonly deletedClipCount: number }
  | { readonly kind: 'task_failed'; readonly task: string; readonly err: unknown }
