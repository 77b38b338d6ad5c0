import type { DoorbellError } from '../../shared/errors.js'
import type { DeliveryOutcome } from './delivery-lanes.js'
import type { HealthTransition } from './device-health-monitor.js'
import type { SlaViolation } from './sla-tracker.js'
import type { TemperatureAnomaly } from './temperature-anomaly.js'
import type { Suppression } from './user-policy.js'

/** What the alert pipeline reports on the collector's bus; main.ts logs it (error for SLA and dead letters). */
export type AlertEvent =
  | { readonly kind: 'delivery'; readonly outcome: DeliveryOutcome }
  | {
      readonly kind: 'suppressed'
      readonly user: string
      readonly alertId: string
      readonly reason: Suppression
    }
  | ({ readonly kind: 'sla_violation' } & SlaViolation)
  | { readonly kind: 'device_health'; readonly transition: HealthTransition }
  /** The saved device health was unreadable at start and is ignored (HEALTH_STATE_INVALID). */
  | { readonly kind: 'health_state_invalid'; readonly err: DoorbellError }
  | { readonly kind: 'temperature_anomaly'; readonly anomaly: TemperatureAnomaly }
  | { readonly kind: 'subscription_gone'; readonly user: string; readonly status: number }
  | { readonly kind: 'task_failed'; readonly task: string; readonly err: unknown }
