import { Gauge } from 'prom-client'
import { alertFromEvent, alertLinks } from '../alerts/alert.js'
import type { AlertPipeline } from '../alerts/alert-pipeline.js'
import type { ExtensionContext } from '../extensions/extension.js'
import { FleetAlertDelivery } from './fleet-alert-delivery.js'
import { FleetDeviceHealth } from './fleet-device-health.js'

/* The alerts extension's fleet parts, in a module of their own that only a fleet node loads. */

/** Device health from what every node heard; alerts from the holder of the device-health lease. */
export function startFleetHealth(ctx: ExtensionContext): Promise<FleetDeviceHealth> {
  const fleet = ctx.stores.fleet
  if (!fleet) throw new Error('startFleetHealth needs stores.fleet')
  return FleetDeviceHealth.start({
    fleet,
    flushMs: ctx.config.postgres.healthFlushMs,
    pollMs: ctx.config.alerts.health.checkIntervalMs,
    leaseTtlMs: ctx.config.postgres.leaseTtlMs,
    now: ctx.now,
    onLeaderChange: (isLeader) => ctx.bus.emit({ kind: 'lease', name: 'device-health', isLeader }),
    onError: (err) => ctx.bus.emit({ kind: 'task_failed', task: 'fleet device health', err }),
  })
}

/** Routes stored presses and motion through the fleet's intake and outbox in PostgreSQL. */
export function startFleetAlerts(ctx: ExtensionContext, pipeline: AlertPipeline): FleetAlertDelivery {
  const fleet = ctx.stores.fleet
  if (!fleet) throw new Error('startFleetAlerts needs stores.fleet')
  const { config } = ctx
  const links = alertLinks(config.alerts.publicUrl)
  const { retry } = config.alerts
  const delivery = new FleetAlertDelivery({
    db: fleet.db,
    nodeId: fleet.nodeId,
    route: async (event, reachedBy) => {
      const alert = alertFromEvent(event, links)
      if (!alert) return []
      if (!alert.isUpdate) return pipeline.queue.capture(() => pipeline.router.raise(alert))
      // An update (snapshot, clip) goes to the homeowners its press reached, as on one node; this node's
      // policy knows only the presses it routed, the fleet's outbox knows them all.
      const reached = await reachedBy(alert.tag)
      const channelNames = new Set(pipeline.channels.map((channel) => channel.name))
      pipeline.metrics.raised.inc({ kind: alert.kind })
      return ctx.stores.userSettings
        .users()
        .filter((user) => reached.has(user.name))
        .flatMap((user) =>
          user.channels
            .filter((channel) => channelNames.has(channel))
            .map((channel) => ({ alert, channel, recipient: { name: user.name, isOperator: false } })),
        )
    },
    channels: pipeline.channels,
    maxAttempts: retry.attempts,
    // Full jitter, as the node's own lanes back off.
    backoffMs: (attempts) =>
      Math.round(Math.random() * Math.min(retry.maxMs, retry.initialMs * 2 ** (attempts - 1))),
    pollMs: config.postgres.alertPollMs,
    senders: config.postgres.alertSenders,
    now: ctx.now,
    onSent: (sent, attempt, atMs) => pipeline.reportDelivery({ kind: 'sent', ...sent, attempt, atMs }),
    onFailed: (failed, attempt, err, retryInMs) => {
      if (retryInMs !== undefined) {
        pipeline.reportDelivery({
          kind: 'retry',
          channel: failed.channel,
          alert: failed.alert,
          attempt,
          delayMs: retryInMs,
          err,
        })
        return
      }
      const record = {
        atMs: ctx.now(),
        channel: failed.channel,
        recipient: failed.recipient.name,
        attempts: attempt,
        error: err instanceof Error ? err.message : String(err),
        alert: failed.alert,
      }
      // Reported after the record is written, as the lanes do, so whoever sees the outcome finds it. A
      // record PostgreSQL refused is counted; the outbox row keeps the delivery as dead with its error.
      void ctx.stores.deadLetters
        .append(record)
        .catch((err: unknown) => ctx.bus.emit({ kind: 'task_failed', task: 'fleet dead letters', err }))
        .then(() => pipeline.reportDelivery({ kind: 'dead_letter', ...failed, attempt, err }))
    },
    onError: (err) => ctx.bus.emit({ kind: 'task_failed', task: 'fleet alerts', err }),
    sendLocally: (deliveries) => {
      for (const routed of deliveries) pipeline.queue.enqueueLocally(routed)
    },
  })
  // Derived alerts and test notifications go through the outbox too, not this node's lanes alone.
  pipeline.queue.redirectTo((routed) => delivery.queue(routed))
  delivery.start()
  new Gauge({
    name: 'doorbell_collector_fleet_alert_backlog',
    help: 'Fleet-wide: alert-relevant events waiting to be routed (intake) and deliveries waiting to be sent (outbox)',
    labelNames: ['queue'] as const,
    registers: [ctx.metrics],
    async collect() {
      try {
        const { intake, outbox } = await delivery.backlog()
        this.set({ queue: 'intake' }, intake)
        this.set({ queue: 'outbox' }, outbox)
      } catch {
        // PostgreSQL away: the scrape shows the last values; the failure shows elsewhere (task_failed).
      }
    },
  })
  return delivery
}
