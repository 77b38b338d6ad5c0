import { join, resolve } from 'node:path'
import { type CollectorDeps, type RunningCollector, startCollector } from '../collector.js'
import type { CollectorConfig } from '../config.js'
import { type AlertEvent, AlertService } from './alert-service.js'
import type { AlertUser } from './alerts-config.js'
import { registerAlertsRoutes } from './alerts-routes.js'
import { FileDiscoveryStateStore } from './discovery-state-file.js'
import { HomeAssistantDiscovery } from './home-assistant-discovery.js'

/** A collector with its alert service. */
export interface RunningAlertingCollector {
  readonly collector: RunningCollector
  readonly alerts: AlertService
  close(): Promise<void>
}

/** Extra collaborators for the alerts (tests replace channels here). */
export interface AlertsDeps {
  readonly onAlertEvent?: (event: AlertEvent) => void
  readonly service?: Partial<ConstructorParameters<typeof AlertService>[0]>
  /** The homeowners' current settings (the dashboard's settings store); default the config's users. */
  readonly users?: () => readonly AlertUser[]
}

/**
 * Starts the collector with alerts wired in through its public hooks only (forwarders, onEvent,
 * onStored, registerHttpRoutes, publish), so collector.ts stays unaware of alerts. main.ts, the demo
 * and tests use this.
 */
export async function startAlertingCollector(
  config: CollectorConfig,
  deps: CollectorDeps = {},
  alertsDeps: AlertsDeps = {},
): Promise<RunningAlertingCollector> {
  const now = deps.now ?? Date.now
  const dataDir = resolve(config.dataDir)
  const alerts = new AlertService({
    config: config.alerts,
    dataDir,
    now,
    ...(alertsDeps.onAlertEvent ? { onEvent: alertsDeps.onAlertEvent } : {}),
    ...alertsDeps.service,
  })
  let collector: RunningCollector
  try {
    collector = await startCollector(config, {
      ...deps,
      forwarders: [...(deps.forwarders ?? []), alerts.forwarder],
      onEvent: (event) => {
        deps.onEvent?.(event)
        alerts.onCollectorEvent(event)
      },
      onStored: (events) => {
        deps.onStored?.(events)
        alerts.onStored(events)
      },
      registerHttpRoutes: async (app, running) => {
        await deps.registerHttpRoutes?.(app, running)
        registerAlertsRoutes(app, {
          service: alerts,
          config: config.alerts,
          store: running.store,
          now,
          ...(alertsDeps.users ? { users: alertsDeps.users } : {}),
        })
      },
    })
  } catch (err) {
    await alerts.close()
    throw err
  }
  alerts.registerMetrics(collector.metrics.registry)
  if (config.alerts.mqttDiscovery.isEnabled) {
    alerts.addObserver(
      new HomeAssistantDiscovery({
        publish: collector.publish,
        onError: (err) => alertsDeps.onAlertEvent?.({ kind: 'task_failed', task: 'mqtt discovery', err }),
        state: new FileDiscoveryStateStore(join(dataDir, 'alerts', 'home-assistant-discovery.json')),
      }),
    )
  }
  // Registered devices the saved health does not know are watched from now, and discovery withdraws the
  // devices it announced in an earlier run that are no longer enabled; later changes come as events.
  alerts.watchDevices(collector.enabledDeviceIds())
  return {
    collector,
    alerts,
    async close() {
      await alerts.close()
      await collector.close()
    },
  }
}
