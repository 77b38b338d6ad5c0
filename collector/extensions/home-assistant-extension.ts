import { HomeAssistantDiscovery } from '../alerts/home-assistant-discovery.js'
import type { CollectorExtension, ExtensionContext } from './extension.js'

/**
 * Home Assistant MQTT discovery (alerts.mqttDiscovery.isEnabled): announces each enabled device's
 * entities, publishes their states from stored events and device health, and withdraws devices that
 * leave the registry (alerts/home-assistant-discovery.ts).
 */
export class HomeAssistantExtension implements CollectorExtension {
  readonly name = 'home-assistant'
  #discovery: HomeAssistantDiscovery | undefined

  async start(ctx: ExtensionContext): Promise<void> {
    if (!ctx.config.alerts.mqttDiscovery.isEnabled) return
    const { bus } = ctx
    const discovery = new HomeAssistantDiscovery({
      publish: ctx.mqtt.publish,
      onError: (err) => bus.emit({ kind: 'task_failed', task: 'mqtt discovery', err }),
      state: ctx.stores.discoveryState,
      saved: await ctx.stores.discoveryState.load(),
    })
    this.#discovery = discovery
    bus.on('stored', ({ events }) => discovery.onStored(events))
    bus.on('device_health', ({ transition }) => discovery.onHealth(transition))
    bus.on('registry_changed', ({ enabledDeviceIds }) => discovery.onDevices(enabledDeviceIds))
    bus.on('service_subscribed', ({ filters }) => discovery.onServiceSubscribed(filters))
    // Devices announced in an earlier run that are no longer enabled are withdrawn now.
    discovery.onDevices(ctx.mqtt.enabledDeviceIds())
  }

  stop(): void {
    this.#discovery?.close()
  }
}
