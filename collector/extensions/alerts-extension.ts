import { AlertService } from '../alerts/alert-service.js'
import { registerAlertsRoutes } from '../alerts/alerts-routes.js'
import type { CollectorExtension, ExtensionContext } from './extension.js'

/**
 * The alert pipeline (docs/alerts.md) as an extension: stored presses and motion become notifications
 * through its forwarder; stored events, presence and registry changes feed device health, SLAs and the
 * temperature watch; the alerts API is added to the HTTP server.
 */
export class AlertsExtension implements CollectorExtension {
  readonly name = 'alerts'
  #service: AlertService | undefined
  #closing: Promise<void> | undefined

  async start(ctx: ExtensionContext): Promise<void> {
    const { bus, config, stores } = ctx
    const users = () => stores.userSettings.users()
    const service = new AlertService({
      config: config.alerts,
      dataDir: stores.dataDir,
      now: ctx.now,
      onEvent: (event) => bus.emit(event),
      subscriptions: stores.pushSubscriptions,
      deadLetters: stores.deadLetters,
      healthStore: stores.deviceHealth,
      savedHealth: await stores.deviceHealth.load(),
      users,
    })
    this.#service = service
    service.registerMetrics(ctx.metrics)
    ctx.addForwarder(service.forwarder)
    bus.on('stored', ({ events }) => service.onStored(events))
    bus.on('presence', (event) => service.onCollectorEvent(event))
    bus.on('registry_changed', (event) => service.onCollectorEvent(event))
    bus.on('clip', (event) => service.onCollectorEvent(event))
    bus.on('test_notification', ({ user }) => service.sendTest(user))
    // Device health is saved one last time now: the last wills that follow are the shutdown, not faults.
    bus.on('stopping', () => {
      this.#closing = service.close()
    })
    if (ctx.http) {
      registerAlertsRoutes(ctx.http, {
        service,
        config: config.alerts,
        store: stores.events,
        users,
        now: ctx.now,
      })
    }
    // Registered devices the saved health does not know are watched from now; changes come as events.
    await service.watchDevices(ctx.mqtt.enabledDeviceIds())
  }

  /** Resolves when every queued delivery and retry is done. */
  whenIdle(): Promise<void> {
    return this.#service?.whenIdle() ?? Promise.resolve()
  }

  async stop(): Promise<void> {
    await (this.#closing ?? this.#service?.close())
  }
}
