#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { DoorbellError, formatForUser } from '../shared/errors.js'
import { createLogger } from '../shared/logger.js'
import { runMain } from '../shared/run-main.js'
import { logAlertEvent } from './alerts/log-alert-event.js'
import type { CollectorEvent } from './collector.js'
import { loadCollectorConfig } from './config.js'
import { startDashboardCollector } from './dashboard/start-dashboard.js'

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
  let config: ReturnType<typeof loadCollectorConfig>
  try {
    config = loadCollectorConfig(values.config ?? process.env.DOORBELL_CONFIG, process.env)
  } catch (err) {
    process.stderr.write(`${formatForUser(err)}\n`)
    return 1
  }
  const log = createLogger({ name: 'collector', level: config.logLevel })
  const onEvent = (event: CollectorEvent): void => {
    switch (event.kind) {
      case 'rejected':
        log.debug({ reason: event.reason, clientId: event.clientId, deviceId: event.deviceId }, 'rejected')
        break
      case 'client_connected':
      case 'client_disconnected':
        log.info({ clientId: event.clientId }, event.kind.replace('_', ' '))
        break
      case 'client_error':
        log.debug({ clientId: event.clientId, err: event.err }, 'client error')
        break
      case 'presence':
        log.info({ deviceId: event.deviceId, state: event.state }, 'device presence')
        break
      case 'registry_changed':
        log.info({ enabledDevices: event.enabledDeviceIds.length }, 'device registry changed')
        break
      case 'service_subscribed':
        log.debug(
          { user: event.user, clientId: event.clientId, filters: event.filters },
          'service subscribed',
        )
        break
      case 'commit_failed':
        log.error(
          { err: event.err, itemCount: event.itemCount },
          'group commit failed; items nacked for retry',
        )
        break
      case 'ack_failed':
        log.warn({ err: event.err, deviceId: event.deviceId }, 'ack publish failed')
        break
      case 'forward':
        if (event.outcome.kind !== 'forwarded')
          log.warn({ ...event.outcome }, `forward ${event.outcome.kind}`)
        break
      case 'clip':
        log.info({ deviceId: event.deviceId, clipId: event.clipId, verdict: event.verdict }, 'clip received')
        break
      case 'clip_resend': {
        const { kind: _kind, ...report } = event
        // exhausted and unavailable: a recorded clip is lost for good, someone should know.
        if (event.outcome === 'exhausted' || event.outcome === 'unavailable')
          log.error(report, 'clip corrupt and cannot be sent again')
        else if (event.outcome === 'recovered') log.info(report, 'clip sent again and verified')
        else log.warn(report, 'clip failed its check: asked the device to send it again')
        break
      }
      case 'retention':
        log.info(
          { deletedCount: event.deletedCount, deletedClipCount: event.deletedClipCount },
          'retention sweep',
        )
        break
      case 'task_failed':
        log.warn({ err: event.err, task: event.task }, 'background task failed')
        break
    }
  }
  let running: Awaited<ReturnType<typeof startDashboardCollector>>
  try {
    running = await startDashboardCollector(
      config,
      { onEvent },
      { onAlertEvent: (event) => logAlertEvent(log, event) },
    )
  } catch (err) {
    log.fatal({ err }, 'collector failed to start')
    process.stderr.write(`${formatForUser(err)}\n`)
    return 1
  }
  const { collector } = running
  log.info(
    {
      mqttPort: collector.mqttPort,
      wsPort: collector.wsPort,
      tlsPort: collector.tlsPort,
      httpPort: collector.httpPort,
      dataDir: collector.dataDir,
    },
    'collector ready',
  )
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'collector stopping')
      resolve()
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  await running.close()
  log.info('collector stopped')
  return 0
}

runMain(main)
