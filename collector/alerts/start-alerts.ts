import { join, resolve } from 'node:path'
import { type CollectorDeps, type RunningCollector, startCollector } from '../collector.js'
import type { CollectorConfig } from '../config.js'
import { bearerTokenAuthorizer } from '../http/http-auth.js'
import { type AlertEvent, AlertService } from './alert-service.js'
import { type AlertsRoutesAuth, registerAlertsRoutes } from './alerts-routes.js'
import { FileDeviceHealthStore } from './device-health-file.js'
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
  /** Lets logged-in homeowners use the alerts API (the dashboard, issue 6). */
  readonly routesAuth?: AlertsRoutesAuth
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
  const healthStore =
    alertsDeps.service?.healthStore ??
    new FileDeviceHealthStore(join(dataDir, 'alerts', 'device-health.json'))
  const alerts = new AlertService({
    config: config.alerts,
    dataDir,
    now,
    healthStore,
    savedHealth: await healthStore.load(),
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
          // The same operator token as the media routes: one secret for one role.
          isOperator: bearerTokenAuthorizer(config.http.apiToken),
          now,
          ...(alertsDeps.routesAuth ? { auth: alertsDeps.routesAuth } : {}),
        })
      },
    })
  } catch (err) {
    await alerts.close()
    throw err
  }
  alerts.registerMetrics(collector.metrics.registry)
  if (config.alerts.mqttDiscovery.isEnabled) {
    const state = new FileDiscoveryStateStore(join(dataDir, 'alerts', 'home-assistant-discovery.json'))
    alerts.addObserver(
      new HomeAssistantDiscovery({
        publish: collector.publish,
        onError: (err) => alertsDeps.onAlertEvent?.({ kind: 'task_failed', task: 'mqtt discovery', err }),
        state,
        saved: await state.load(),
      }),
    )
  }
  // Registered devices the saved health does not know are watched from now, and discovery withdraws the
  // devices it announced in an earlier run that are no longer enabled; later changes come as events.
  await alerts.watchDevices(collector.enabledDeviceIds())
  return {
    collector,
    alerts,
    async close() {
      await alerts.close()
      await collector.close()
    },
  }
}
