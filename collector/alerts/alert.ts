import type { EventClass } from '../../shared/protocol/index.js'
import { eventIdTimeMs } from '../../shared/protocol/index.js'
import type { StoredEvent } from '../store/event-store.js'
import { mediaPaths } from '../store/related-media.js'
import type { AlertKind } from './alerts-config.js'

/**
 * One notification, independent of the channel that carries it. `tag` identifies the notification on the
 * homeowner's device: an enrichment (snapshot, clip) carries the tag of the press it belongs to and
 * `isUpdate: true`, so channels replace the notification rather than add a second one.
 */
export interface Alert {
  /** Unique per delivery (the event id that caused it, or a generated one). */
  readonly id: string
  /** Replaces an earlier notification with the same tag (the press id for a press and its media). */
  readonly tag: string
  readonly kind: AlertKind | 'sla' | 'delivery'
  readonly deviceId?: string
  /** Class of the event it comes from; the SLA histogram is labelled with it. */
  readonly eventClass: EventClass
  readonly title: string
  readonly body: string
  /** 1 (min) .. 5 (urgent), the ntfy scale. */
  readonly priority: 1 | 2 | 3 | 4 | 5
  readonly tags: readonly string[]
  /** When the thing happened on the device, ms since the epoch (start of the SLA clock). */
  readonly capturedAtMs: number
  readonly isUpdate: boolean
  /** Id of the snapshot event with the picture, when there is one. */
  readonly snapshotId?: string
  /** Id of the clip, when there is one. */
  readonly clipId?: string
  /** Link opened when the notification is tapped. */
  readonly clickUrl?: string
  /** Link to the device's live view, the notification's "Live" action (presses only). */
  readonly liveUrl?: string
  /** Link to the picture (ntfy attachment, web push image). */
  readonly imageUrl?: string
}

/** Links built from the collector's public URL, to the dashboard's event page and the media routes. */
export interface AlertLinks {
  event(id: string): string | undefined
  snapshot(id: string): string | undefined
  clip(clipId: string): string | undefined
  live(deviceId: string): string | undefined
}

/** Links under publicUrl, or none without it. */
export function alertLinks(publicUrl: string | undefined): AlertLinks {
  const base = publicUrl?.replace(/\/+$/, '')
  return {
    event: (id) => (base ? `${base}/events/${id}` : undefined),
    snapshot: (id) => (base ? `${base}${mediaPaths.snapshotOf(id)}` : undefined),
    clip: (clipId) => (base ? `${base}${mediaPaths.clip(clipId)}` : undefined),
    live: (deviceId) => (base ? `${base}/live/${encodeURIComponent(deviceId)}` : undefined),
  }
}

/** True for stored events the alert pipeline takes: presses, armed motion, and media that relate to them. */
export function isAlertRelevant(event: StoredEvent): boolean {
  if (event.class === 'high') return event.type === 'button.press' || event.type === 'motion'
  if (event.type === 'snapshot' || event.type === 'clip.manifest') return Boolean(event.payload.relatesTo)
  return false
}

/** The alert for a stored event, or undefined when it is not one the homeowner is told about. */
export function alertFromEvent(event: StoredEvent, links: AlertLinks): Alert | undefined {
  const capturedAtMs = Date.parse(event.capturedAt)
  const base = { deviceId: event.deviceId, capturedAtMs, eventClass: event.class } as const
  switch (event.type) {
    case 'button.press':
      return withLinks(
        {
          ...base,
          id: event.id,
          tag: event.id,
          kind: 'press',
          title: `Doorbell: ${event.deviceId}`,
          body: `Someone is at the door (${event.payload.button} button).`,
          priority: 5,
          tags: ['bell'],
          isUpdate: false,
        },
        links,
      )
    case 'motion':
      if (event.class !== 'high') return undefined
      return withLinks(
        {
          ...base,
          id: event.id,
          tag: event.id,
          kind: 'motion',
          title: `Motion: ${event.deviceId}`,
          body: `Motion detected${event.payload.zone ? ` (${event.payload.zone})` : ''}.`,
          priority: 4,
          tags: ['walking'],
          isUpdate: false,
        },
        links,
      )
    case 'snapshot':
    case 'clip.manifest': {
      const relatesTo = event.payload.relatesTo
      if (!relatesTo) return undefined
      const isClip = event.type === 'clip.manifest'
      return withLinks(
        {
          ...base,
          // The SLA clock of an enrichment starts at the press it enriches: "clip available within 24 h".
          capturedAtMs: eventIdTimeMs(relatesTo),
          id: event.id,
          tag: relatesTo,
          kind: 'press',
          title: `Doorbell: ${event.deviceId}`,
          body: isClip
            ? 'Someone was at the door: the clip is ready.'
            : 'Someone is at the door: see the picture.',
          priority: isClip ? 3 : 5,
          tags: isClip ? ['bell', 'movie_camera'] : ['bell', 'camera'],
          isUpdate: true,
          ...(isClip ? { clipId: event.payload.clipId } : { snapshotId: event.id }),
        },
        links,
      )
    }
    default:
      return undefined
  }
}

function withLinks(alert: Alert, links: AlertLinks): Alert {
  const clickUrl = alert.clipId ? links.clip(alert.clipId) : links.event(alert.tag)
  const imageUrl = alert.snapshotId ? links.snapshot(alert.snapshotId) : undefined
  const liveUrl = alert.kind === 'press' && alert.deviceId ? links.live(alert.deviceId) : undefined
  return {
    ...alert,
    ...(clickUrl ? { clickUrl } : {}),
    ...(imageUrl ? { imageUrl } : {}),
    ...(liveUrl ? { liveUrl } : {}),
  }
}

/** The JSON body sent to webhooks and web push, stable and documented in docs/alerts.md. */
export function alertJson(alert: Alert): Record<string, unknown> {
  return {
    v: 1,
    id: alert.id,
    tag: alert.tag,
    kind: alert.kind,
    isUpdate: alert.isUpdate,
    deviceId: alert.deviceId ?? null,
    class: alert.eventClass,
    title: alert.title,
    body: alert.body,
    priority: alert.priority,
    tags: alert.tags,
    capturedAt: new Date(alert.capturedAtMs).toISOString(),
    snapshotId: alert.snapshotId ?? null,
    clipId: alert.clipId ?? null,
    clickUrl: alert.clickUrl ?? null,
    imageUrl: alert.imageUrl ?? null,
    liveUrl: alert.liveUrl ?? null,
  }
}
