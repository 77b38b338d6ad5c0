import type { Logger } from '../../shared/logger.js'
import type { AlertEvent } from './alert-event.js'

/** How main.ts logs what the alert service reports: error when a human must act (SLA, dead letter). */
export function logAlertEvent(log: Logger, event: Exclude<AlertEvent, { kind: 'task_failed' }>): void {
  switch (event.kind) {
    case 'delivery': {
      const o = event.outcome
      const context = { channel: o.channel, alertId: o.alert.id, tag: o.alert.tag, attempt: o.attempt }
      if (o.kind === 'sent') log.debug({ ...context, recipient: o.recipient.name }, 'alert delivered')
      else if (o.kind === 'retry')
        log.warn({ ...context, err: o.err, delayMs: o.delayMs }, 'alert delivery failed; retrying')
      else
        log.error(
          { ...context, err: o.err, recipient: o.recipient.name },
          'alert delivery gave up; dead-lettered',
        )
      break
    }
    case 'suppressed':
      log.debug({ user: event.user, alertId: event.alertId, reason: event.reason }, 'alert suppressed')
      break
    case 'sla_violation':
      log.error(
        {
          class: event.eventClass,
          channel: event.channel,
          latencyMs: event.latencyMs,
          targetMs: event.targetMs,
          subjectId: event.subjectId,
          count: event.count,
        },
        'SLA violated',
      )
      break
    case 'device_health':
      log.warn(
        { ...event.transition },
        event.transition.state === 'offline' ? 'device offline' : 'device back online',
      )
      break
    case 'health_state_invalid':
      log.warn({ err: event.err }, 'saved device health ignored')
      break
    case 'temperature_anomaly':
      log.warn({ ...event.anomaly }, 'temperature anomaly')
      break
    case 'subscription_gone':
      log.info({ user: event.user, status: event.status }, 'push subscription expired; removed')
      break
  }
}
