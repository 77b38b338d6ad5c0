import { isAlertRelevant } from '../alerts/alert.js'
import { type AlertPipeline, createAlertPipeline } from '../alerts/alert-pipeline.js'
import { registerAlertsRoutes } from '../alerts/alerts-routes.js'
import type { FleetAlertDelivery } from '../fleet/fleet-alert-delivery.js'
import type { FleetDeviceHealth } from '../fleet/fleet-device-health.js'
import type { CollectorExtension, ExtensionContext } from './extension.js'

/**
 * The alert pipeline (docs/alerts.md) as an extension: stored presses and motion become notifications
 * through its forwarder; stored events, presence and registry changes feed device health, SLAs and the
 * temperature watch; the alerts API is added to the HTTP server. In a fleet (stores.fleet) presses and
 * motion go through PostgreSQL instead (fleet/fleet-alert-delivery.ts), so each is sent once by one node,
 * and device health follows what every node heard, alerting from the lease holder only
 * (fleet/fleet-device-health.ts).
 */
export class AlertsExtension implements CollectorExtension {
  readonly name = 'alerts'
  #pipeline: AlertPipeline | undefined
  #fleet: FleetAlertDelivery | undefined
  #fleetHealth: FleetDeviceHealth | undefined
  #closing: Promise<void> | undefined

  async start(ctx: ExtensionContext): Promise<void> {
    const { bus, config, stores } = ctx
    const users = () => stores.userSettings.users()
    // Loaded only in a fleet, so the embedded default never loads the PostgreSQL modules.
    const fleetModule = stores.fleet ? await import('../fleet/fleet-alerts.js') : undefined
    const fleetHealth = await fleetModule?.startFleetHealth(ctx)
    this.#fleetHealth = fleetHealth
    const pipeline = createAlertPipeline({
      config: config.alerts,
      now: ctx.now,
      onEvent: (event) => bus.emit(event),
      users,
      stores,
      savedHealth: await stores.deviceHealth.load(),
      ...(fleetHealth ? { healthFeed: fleetHealth, isHealthLeader: () => fleetHealth.isLeader } : {}),
    })
    this.#pipeline = pipeline
    const { service, router, health } = pipeline
    pipeline.metrics.registerInto(ctx.metrics)
    await fleetHealth?.follow(health)
    if (fleetModule) {
      const fleet = fleetModule.startFleetAlerts(ctx, pipeline)
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
        onEndpointRefused: () => pipeline.metrics.endpointsRefused.inc({ at: 'registration' }),
        maxSubscriptionsPerUser: ctx.quotas.pushSubscriptionsPerUser,
        onSubscriptionsEvicted: (count) => pipeline.metrics.subscriptionsEvicted.inc(count),
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
    await this.#fleetHealth?.stop()
    await this.#pipeline?.service.close()
  }

  /** The fleet's view of device health (undefined on the embedded default). */
  get fleetHealth(): FleetDeviceHealth | undefined {
    return this.#fleetHealth
  }
}
