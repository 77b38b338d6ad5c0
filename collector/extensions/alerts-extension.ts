import { alertFromEvent, alertLinks, isAlertRelevant } from '../alerts/alert.js'
import { type AlertPipeline, createAlertPipeline } from '../alerts/alert-pipeline.js'
import { registerAlertsRoutes } from '../alerts/alerts-routes.js'
import type { FleetAlertDelivery } from '../fleet/fleet-alert-delivery.js'
import type { CollectorExtension, ExtensionContext } from './extension.js'

/**
 * The alert pipeline (docs/alerts.md) as an extension: stored presses and motion become notifications
 * through its forwarder; stored events, presence and registry changes feed device health, SLAs and the
 * temperature watch; the alerts API is added to the HTTP server. In a fleet (stores.fleet) presses and
 * motion go through PostgreSQL instead (fleet/fleet-alert-delivery.ts), so each is sent once by one node.
 */
export class AlertsExtension implements CollectorExtension {
  readonly name = 'alerts'
  #pipeline: AlertPipeline | undefined
  #fleet: FleetAlertDelivery | undefined
  #closing: Promise<void> | undefined

  async start(ctx: ExtensionContext): Promise<void> {
    const { bus, config, stores } = ctx
    const users = () => stores.userSettings.users()
    const pipeline = createAlertPipeline({
      config: config.alerts,
      now: ctx.now,
      onEvent: (event) => bus.emit(event),
      users,
      stores,
      savedHealth: await stores.deviceHealth.load(),
    })
    this.#pipeline = pipeline
    const { service, router, health } = pipeline
    pipeline.metrics.registerInto(ctx.metrics)
    if (stores.fleet) {
      const fleet = await startFleetAlerts(ctx, pipeline)
      this.#fleet = fleet
      bus.on('stored', ({ events }) => {
        if (events.some(isAlertRelevant)) fleet.kick()
      })
    } else ctx.addForwarder(service.forwarder)
    bus.on('stored', ({ events }) => service.onStored(events))
    bus.on('presence', ({ deviceId, state }) => service.onPresence(deviceId, state))
    bus.on('registry_changed', ({ enabledDeviceIds }) => service.watchDevices(enabledDeviceIds))
    bus.on('clip', ({ clipId, verdict }) => {
      if (verdict === 'complete') service.onClipComplete(clipId)
    })
    bus.on('test_notification', ({ user }) => router.sendTest(user))
    // Device health is saved one last time now: the last wills that follow are the shutdown, not faults.
    bus.on('stopping', () => {
      this.#closing = this.#close()
    })
    if (ctx.http) {
      registerAlertsRoutes(ctx.http, {
        health,
        deadLetters: stores.deadLetters,
        subscriptions: stores.pushSubscriptions,
        config: config.alerts,
        store: stores.events,
        users,
        now: ctx.now,
      })
    }
    // Registered devices the saved health does not know are watched from now; changes come as events.
    await service.watchDevices(ctx.mqtt.enabledDeviceIds())
  }

  /** Resolves when every queued delivery and retry is done (in a fleet: the due ones this node sees). */
  async whenIdle(): Promise<void> {
    await this.#fleet?.whenIdle()
    await this.#pipeline?.service.whenIdle()
  }

  async stop(): Promise<void> {
    await (this.#closing ?? this.#close())
  }

  /** The fleet's sending stops first: what it has not taken stays in PostgreSQL for the other nodes. */
  async #close(): Promise<void> {
    await this.#fleet?.stop()
    await this.#pipeline?.service.close()
  }
}

/**
 * Routes stored presses and motion through the fleet's intake and outbox in PostgreSQL. The module is
 * loaded only in a fleet, so the embedded default never loads the PostgreSQL client.
 */
async function startFleetAlerts(ctx: ExtensionContext, pipeline: AlertPipeline): Promise<FleetAlertDelivery> {
  const fleet = ctx.stores.fleet
  if (!fleet) throw new Error('startFleetAlerts needs stores.fleet')
  const { FleetAlertDelivery } = await import('../fleet/fleet-alert-delivery.js')
  const { config } = ctx
  const links = alertLinks(config.alerts.publicUrl)
  const { retry } = config.alerts
  const delivery = new FleetAlertDelivery({
    db: fleet.db,
    nodeId: fleet.nodeId,
    route: (event) =>
      pipeline.queue.capture(() => {
        const alert = alertFromEvent(event, links)
        if (alert) pipeline.router.raise(alert)
      }),
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
      // Reported after the record is written, as the lanes do, so whoever sees the outcome finds it.
      void ctx.stores.deadLetters
        .append(record)
        .catch(() => undefined)
        .then(() => pipeline.reportDelivery({ kind: 'dead_letter', ...failed, attempt, err }))
    },
    onError: (err) => ctx.bus.emit({ kind: 'task_failed', task: 'fleet alerts', err }),
  })
  delivery.start()
  return delivery
}
