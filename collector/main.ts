#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { DoorbellError, formatForUser } from '../shared/errors.js'
import { createLogger } from '../shared/logger.js'
import { isEntryPoint, runMain } from '../shared/run-main.js'
import { quotasFrom } from './access/quotas.js'
import type { RoutePermissions } from './access/route-permissions.js'
import { type RunningCollector, startCollectorCore } from './collector-core.js'
import { type CollectorConfig, loadCollectorConfig } from './config.js'
import type { CollectorEvent } from './events/collector-event.js'
import { logCollectorEvent } from './events/log-collector-event.js'
import { AlertsExtension } from './extensions/alerts-extension.js'
import { ClipRecoveryExtension } from './extensions/clip-recovery-extension.js'
import { DashboardExtension } from './extensions/dashboard-extension.js'
import type { CollectorExtension } from './extensions/extension.js'
import { HomeAssistantExtension } from './extensions/home-assistant-extension.js'
import { RetentionExtension } from './extensions/retention-extension.js'
import type { Forwarder } from './forwarding/forwarder.js'
import { LiveExtension } from './live/live-extension.js'
import { openCollectorStores, type StoreOverrides } from './store/collector-stores.js'

export type { RunningCollector } from './collector-core.js'
export type { CollectorEvent } from './events/collector-event.js'

/** What a caller of startCollector may add: this CLI, the demo and the tests all use the same collector. */
export interface CollectorOptions {
  /** Sees every event on the bus, after each kind's own listeners (this CLI logs them; tests record them). */
  readonly onEvent?: (event: CollectorEvent) => void
  /** Forwarders beside the alerts' (the demo prints each press). */
  readonly forwarders?: readonly Forwarder[]
  /** Extensions started after the collector's own (tests' probes). */
  readonly extensions?: readonly CollectorExtension[]
  /** Stores instead of the embedded ones (tests: a clip store that injects faults). */
  readonly stores?: StoreOverrides
  /** The route table; default access/route-permissions.ts (tests add their probes' routes). */
  readonly routePermissions?: RoutePermissions
  readonly now?: () => number
}

/** A running collector with handles on the extensions that tests and the demo look into. */
export interface ComposedCollector extends RunningCollector {
  readonly alerts: AlertsExtension
  readonly dashboard: DashboardExtension
  readonly live: LiveExtension
}

/**
 * The whole collector, the one composition the CLI, the demo and the tests start: every store (one
 * factory, the embedded engines by default), then the core (broker, ingest steps, group commit, acks,
 * HTTP with the access hook), then the extensions in order. The bus carries what happens; each extension
 * listens to what it needs:
 *
 *   clip recovery   committed (clips touched, clip.unavailable), presence online
 *   retention       its own timer
 *   alerts          stored, presence, registry_changed, clip, test_notification, stopping
 *   home assistant  stored, device_health, registry_changed, service_subscribed
 *   dashboard       stored (the live SSE view)
 *   live            presence, live_signal (live view and talk, docs/live.md)
 */
export async function startCollector(
  config: CollectorConfig,
  options: CollectorOptions = {},
): Promise<ComposedCollector> {
  const now = options.now ?? Date.now
  const quotas = quotasFrom(config)
  const stores = await openCollectorStores(config, {
    quotas,
    now,
    overrides: options.stores ?? {},
    onEngineError: (err) => options.onEvent?.({ kind: 'task_failed', task: 'engine', err }),
  })
  const alerts = new AlertsExtension()
  const dashboard = new DashboardExtension()
  const live = new LiveExtension()
  const extensions: CollectorExtension[] = [
    new ClipRecoveryExtension(),
    new RetentionExtension(),
    alerts,
    new HomeAssistantExtension(),
    dashboard,
    live,
    ...(options.extensions ?? []),
  ]
  let core: RunningCollector
  try {
    core = await startCollectorCore(config, {
      stores,
      extensions,
      forwarders: options.forwarders ?? [],
      observers: options.onEvent ? [options.onEvent] : [],
      quotas,
      ...(options.routePermissions ? { routePermissions: options.routePermissions } : {}),
      now,
    })
  } catch (err) {
    await stores.close()
    throw err
  }
  return {
    ...core,
    alerts,
    dashboard,
    live,
    async close() {
      await core.close()
      await stores.close()
    },
  }
}

const help = `doorbell-collector: MQTT broker and durable event store of the doorbell

Usage: doorbell-collector [--config FILE]

Options:
  --config FILE   YAML configuration (defaults apply to every missing field)
  --help          show this text

Every field can be overridden from the environment, e.g. DOORBELL_DATA_DIR=/var/lib/doorbell,
DOORBELL_MQTT__PORT=1883, DOORBELL_HTTP__PORT=8080, DOORBELL_RETENTION_DAYS__MEDIUM=30.
Defaults: dataDir ./data/collector, MQTT 1883, MQTT over WebSocket 8083 (/mqtt), HTTP 8080
(GET /healthz, GET /metrics), TLS on 8883 when mqtt.tls.certFile and keyFile are set.
The operator API (clips, snapshots, device health, statistics, dead letters) takes the bearer token
http.apiToken (DOORBELL_HTTP__API_TOKEN, at least 16 characters); homeowners sign in to the dashboard.
Devices, service users and homeowners are managed with doorbell-admin. Notifications (Web Push, ntfy, webhooks),
SLAs, device health and Home Assistant discovery are set in the alerts section: see docs/alerts.md.
`

/** The doorbell-collector command: config, log, the collector, and signals. */
async function main(): Promise<number> {
  // Files the collector creates are its user's only (0600, folders 0700), Level's own files included.
  process.umask(0o077)
  let values: { config?: string | undefined; help?: boolean | undefined }
  try {
    values = parseArgs({
      options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: false,
    }).values
  } catch (err) {
    process.stderr.write(`${formatForUser(new DoorbellError('USAGE', (err as Error).message))}\n`)
    return 2
  }
  if (values.help) {
    process.stdout.write(help)
    return 0
  }
  let config: CollectorConfig
  try {
    config = loadCollectorConfig(values.config ?? process.env.DOORBELL_CONFIG, process.env)
  } catch (err) {
    process.stderr.write(`${formatForUser(err)}\n`)
    return 1
  }
  const log = createLogger({ name: 'collector', level: config.logLevel })
  let collector: RunningCollector
  try {
    collector = await startCollector(config, { onEvent: (event) => logCollectorEvent(log, event) })
  } catch (err) {
    log.fatal({ err }, 'collector failed to start')
    process.stderr.write(`${formatForUser(err)}\n`)
    return 1
  }
  const { mqttPort, wsPort, tlsPort, httpPort, dataDir } = collector
  log.info({ mqttPort, wsPort, tlsPort, httpPort, dataDir }, 'collector ready')
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'collector stopping')
      resolve()
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  await collector.close()
  log.info('collector stopped')
  return 0
}

if (isEntryPoint(import.meta.url)) runMain(main)
