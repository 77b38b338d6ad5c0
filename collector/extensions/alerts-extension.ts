import { type AlertPipeline, createAlertPipeline } from '../alerts/alert-pipeline.js'
import { registerAlertsRoutes } from '../alerts/alerts-routes.js'
import type { CollectorExtension, ExtensionContext } from './extension.js'

/**
 * The alert pipeline (docs/alerts.md) as an extension: stored presses and motion become notifications
 * through its forwarder; stored events, presence and registry changes feed device health, SLAs and the
 * temperature watch; the alerts API is added to the HTTP server.
 */
export class AlertsExtension implements CollectorExtension {
  readonly name = 'alerts'
  #pipeline: AlertPipeline | undefined
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
    ctx.addForwarder(service.forwarder)
    bus.on('stored', ({ events }) => service.onStored(events))
    bus.on('presence', ({ deviceId, state }) => service.onPresence(deviceId, state))
    bus.on('registry_changed', ({ enabledDeviceIds }) => service.watchDevices(enabledDeviceIds))
    bus.on('clip', ({ clipId, verdict }) => {
      if (verdict === 'complete') service.onClipComplete(clipId)
    })
    bus.on('test_notification', ({ user }) => router.sendTest(user))
    // Device health is saved one last time now: the last wills that follow are the shutdown, not faults.
    bus.on('stopping', () => {
      this.#closing = service.close()
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

  /** Resolves when every queued delivery and retry is done. */
  whenIdle(): Promise<void> {
    return this.#pipeline?.service.whenIdle() ?? Promise.resolve()
  }

  async stop(): Promise<void> {
    await (this.#closing ?? this.#pipeline?.service.close())
  }
}
