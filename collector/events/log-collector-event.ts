import type { Logger } from '../../shared/logger.js'
import { logAlertEvent } from '../alerts/log-alert-event.js'
import type { CollectorEvent } from './collector-event.js'

/** How main.ts logs the bus: error when a human must act, info for lifecycle, debug per message. */
export function logCollectorEvent(log: Logger, event: CollectorEvent): void {
  switch (event.kind) {
    case 'rejected':
      log.debug({ reason: event.reason, clientId: event.clientId, deviceId: event.deviceId }, 'rejected')
      break
    case 'client_connected':
    case 'client_disconnected':
      log.info({ clientId: event.clientId }, event.kind.replace('_', ' '))
      break
    case 'client_error':
      log.debug({ clientId: event.clientId, err: event.err }, 'client error')
      break
    case 'presence':
      log.info({ deviceId: event.deviceId, state: event.state }, 'device presence')
      break
    case 'registry_changed':
      log.info({ enabledDevices: event.enabledDeviceIds.length }, 'device registry changed')
      break
    case 'service_subscribed':
      log.debug({ user: event.user, clientId: event.clientId, filters: event.filters }, 'service subscribed')
      break
    case 'stored':
    case 'committed':
      // One per commit, counted in the metrics; the events themselves are in the store.
      break
    case 'commit_failed':
      log.error({ err: event.err, itemCount: event.itemCount }, 'group commit failed; items nacked for retry')
      break
    case 'ack_failed':
      log.warn({ err: event.err, deviceId: event.deviceId }, 'ack publish failed')
      break
    case 'forward':
      if (event.outcome.kind !== 'forwarded') log.warn({ ...event.outcome }, `forward ${event.outcome.kind}`)
      break
    case 'clip':
      log.info({ deviceId: event.deviceId, clipId: event.clipId, verdict: event.verdict }, 'clip received')
      break
    case 'clip_resend': {
      const { kind: _kind, ...report } = event
      // exhausted and unavailable: a recorded clip is lost for good, someone should know.
      if (event.outcome === 'exhausted' || event.outcome === 'unavailable')
        log.error(report, 'clip corrupt and cannot be sent again')
      else if (event.outcome === 'recovered') log.info(report, 'clip sent again and verified')
      else log.warn(report, 'clip failed its check: asked the device to send it again')
      break
    }
    case 'retention':
      log.info(
        { deletedCount: event.deletedCount, deletedClipCount: event.deletedClipCount },
        'retention sweep',
      )
      break
    case 'lease':
      log.info(
        { lease: event.name, isLeader: event.isLeader },
        event.isLeader ? 'lease taken' : 'lease given up',
      )
      break
    case 'test_notification':
      log.info({ user: event.user }, 'test notification requested')
      break
    case 'stopping':
      break
    case 'listener_failed':
      // A listener that throws is a bug in that extension; the others went on.
      log.error({ err: event.err, listener: event.listener, event: event.event }, 'event listener failed')
      break
    case 'task_failed':
      log.warn({ err: event.err, task: event.task }, 'background task failed')
      break
    case 'live_signal':
      break
    case 'live_started':
      log.info(
        { deviceId: event.deviceId, sessionId: event.sessionId, startedBy: event.startedBy },
        'live view started',
      )
      break
    case 'live_ended':
      log.info(
        {
          deviceId: event.deviceId,
          sessionId: event.sessionId,
          reason: event.reason,
          durationMs: event.durationMs,
        },
        'live view ended',
      )
      break
    case 'live_refused':
      log.debug({ code: event.code, detail: event.detail }, 'live view request refused')
      break
    case 'live_failed':
      log.warn({ err: event.err, deviceId: event.deviceId }, 'live view task failed')
      break
    default:
      logAlertEvent(log, event)
  }
}
