#!/usr/bin/env node
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { parse as parseYaml } from 'yaml'
import { startAgent } from '../agent/agent.js'
import { SystemClock } from '../agent/clock/clock.js'
import { agentConfigSchema } from '../agent/config/agent-config.js'
import { startControlServer } from '../agent/control/control-server.js'
import { createSimulatedHardware } from '../agent/hardware.js'
import { createMediaDeps, simulatedMediaConfig } from '../agent/media/create-media.js'
import { agentConfigYaml } from '../collector/admin/admin-commands.js'
import { collectorConfig } from '../collector/config.js'
import type { Forwarder } from '../collector/forwarding/forwarder.js'
import { type CollectorEvent, startCollector } from '../collector/main.js'
import type { ManagedIdentityRegistry } from '../collector/registry/identity-registry.js'
import { runMain } from '../shared/run-main.js'

/**
 * `npm start`: the real collector and one simulated doorbell in one process, on embedded defaults under
 * ./data. The doorbell talks to the collector over real MQTT on loopback, exactly as a Pi would.
 */

const help = `doorbell-demo: the collector plus a simulated doorbell, on embedded defaults

Usage: npm start [-- --data-dir DIR]

Options:
  --data-dir DIR   where the collector's store, registry and clips and the doorbell's outbox live
                   (default ./data)
  -h, --help       show this text

It uses MQTT ports 1883 (TCP) and 8083 (WebSocket) and HTTP port 8080 when they are free, and free ports otherwise; it prints which.
Press Enter to ring the doorbell; Ctrl-C stops it.`

const deviceId = 'front-door'

/** True when nothing listens on the port on loopback. */
function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const probe = createServer()
    probe.once('error', () => resolvePort(false))
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolvePort(true)))
  })
}

async function preferredPort(port: number): Promise<number> {
  return (await isPortFree(port)) ? port : 0
}

function time(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23)
}

/** Prints each stored high-class event: the demo's stand-in for a push notification. */
function consoleForwarder(print: (line: string) => void): Forwarder {
  return {
    name: 'console',
    async forward(event) {
      const now = `[${time(Date.now())}]`
      if (event.type === 'snapshot' || event.type === 'clip.manifest') {
        print(`${now} ${event.type} for ${event.payload.relatesTo ?? 'a command'} is in (id ${event.id})`)
        return
      }
      const latencyMs = event.receivedAtMs - Date.parse(event.capturedAt)
      print(
        `${now} ${event.type === 'button.press' ? 'DING DONG' : 'ALERT'}: ${event.type} from ` +
          `${event.deviceId}, seq ${event.seq}, stored ${latencyMs} ms after capture (id ${event.id})`,
      )
    },
  }
}

/** Reuses the demo device's credentials, or registers it (again) when they are missing. */
async function provisionDevice(
  registry: ManagedIdentityRegistry,
  configFile: string,
  url: string,
): Promise<string> {
  const isKnown = registry.listDevices().some((d) => d.deviceId === deviceId)
  if (isKnown && existsSync(configFile)) {
    const saved = parseYaml(readFileSync(configFile, 'utf8')) as { mqtt?: { password?: string } }
    if (saved.mqtt?.password) return saved.mqtt.password
  }
  const secret = isKnown ? await registry.rotateDevice(deviceId) : await registry.addDevice(deviceId)
  writeFileSync(configFile, agentConfigYaml(deviceId, secret, { url }), { mode: 0o600 })
  return secret
}

async function main(): Promise<void> {
  process.umask(0o077)
  const { values } = parseArgs({
    options: { 'data-dir': { type: 'string', default: './data' }, help: { type: 'boolean', short: 'h' } },
  })
  if (values.help) {
    process.stdout.write(`${help}\n`)
    return
  }
  const print = (line: string): void => void process.stdout.write(`${line}\n`)
  const dataDir = resolve(values['data-dir'] ?? './data')
  const collectorDir = join(dataDir, 'collector')
  const agentDir = join(dataDir, 'agent')
  mkdirSync(agentDir, { recursive: true })

  // The operator's one bearer token (media and alerts API; the dashboard uses logins): one per demo run.
  const apiToken = randomBytes(16).toString('hex')
  let httpBase = ''
  const onEvent = (event: CollectorEvent): void => {
    if (event.kind === 'presence') print(`[${time(Date.now())}] ${event.deviceId} is ${event.state}`)
    if (event.kind === 'clip')
      print(
        `[${time(Date.now())}] clip ${event.verdict}: curl -H 'Authorization: Bearer ${apiToken}' -o clip.mp4 ${httpBase}/api/clips/${event.clipId}`,
      )
    if (event.kind === 'rejected') print(`[${time(Date.now())}] rejected: ${event.reason}`)
    if (event.kind === 'temperature_anomaly') {
      const { celsius, reason } = event.anomaly
      print(`[${time(Date.now())}] temperature alert: ${celsius} °C (${reason})`)
    }
  }
  // The same collector as doorbell-collector runs (collector/main.ts), with a console forwarder.
  const collector = await startCollector(
    collectorConfig({
      dataDir: collectorDir,
      host: '127.0.0.1',
      logLevel: 'warn',
      mqtt: { port: await preferredPort(1883), wsPort: await preferredPort(8083) },
      // Bound to 127.0.0.1 (host above), so metrics and the API document are this machine's only.
      http: { port: await preferredPort(8080), apiToken, metricsAccess: 'public', openApiAccess: 'public' },
    }),
    { forwarders: [consoleForwarder(print)], onEvent },
  )
  // A dashboard login for the demo: kept in the data folder, so it stays the same across runs.
  const demoPasswordFile = join(dataDir, 'dashboard-password.txt')
  const { homeowners } = collector.stores
  if (!(await homeowners.list()).some((h) => h.name === 'demo')) {
    const password = randomBytes(9).toString('base64url')
    await homeowners.add('demo', password, 'owner')
    writeFileSync(demoPasswordFile, `${password}\n`, { mode: 0o600 })
  }
  const demoPassword = existsSync(demoPasswordFile)
    ? readFileSync(demoPasswordFile, 'utf8').trim()
    : '(see doorbell-admin homeowners passwd)'
  httpBase = `http://127.0.0.1:${collector.httpPort}`
  const url = `mqtt://127.0.0.1:${collector.mqttPort}`
  const agentConfigFile = join(agentDir, 'agent.yaml')
  const secret = await provisionDevice(collector.stores.registry, agentConfigFile, url)

  const clock = new SystemClock()
  const hardware = createSimulatedHardware(clock)
  const parsed = agentConfigSchema.parse({
    deviceId,
    mqtt: { url, username: deviceId, password: secret, reconnectInitialMs: 250 },
    dataDir: agentDir,
    medium: { batchIntervalMs: 5_000 },
    health: { intervalMs: 30_000 },
  })
  // The simulated camera (testsrc2 320x240 at 10 fps) and microphone: about 1-2 % of one core.
  const hasFfmpeg = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0
  const media = simulatedMediaConfig(parsed)
  const agentConfig = { ...parsed, media: hasFfmpeg ? media : { ...media, enabled: false } }
  if (!hasFfmpeg) {
    print('ffmpeg is not installed, so the simulated camera is off (no snapshots or clips).')
    print('  fix: sudo apt-get install -y ffmpeg')
  }
  const agent = await startAgent(agentConfig, { hardware, clock, media: createMediaDeps(agentConfig) })
  agent.on('fault', (where, err) => print(`[${time(Date.now())}] doorbell fault in ${where}: ${String(err)}`))
  const control = await startControlServer(agent, hardware, agentConfig.control)
  const controlUrl = `http://127.0.0.1:${control.port}`

  print(`
The doorbell demo is running.

  Collector, MQTT         ${url}   (WebSocket: ws://127.0.0.1:${collector.wsPort}/mqtt)
  Collector, health       http://127.0.0.1:${collector.httpPort}/healthz
  Collector, metrics      http://127.0.0.1:${collector.httpPort}/metrics
  Dashboard               http://127.0.0.1:${collector.httpPort}/   (log in as demo / ${demoPassword})
  Data folder             ${dataDir}
  Simulated doorbell      '${deviceId}', its config in ${agentConfigFile}

  Ring the doorbell       press Enter here, or: curl -X POST -H 'content-type: application/json' ${controlUrl}/button/press
  Trigger motion          curl -X POST -H 'content-type: application/json' ${controlUrl}/motion
  Set the temperature     curl -X POST -H 'content-type: application/json' ${controlUrl}/temperature -d '{"celsius": 31.5}'
  See the doorbell        curl ${controlUrl}/state
  Snapshot of a press     curl -H 'Authorization: Bearer ${apiToken}' -o snap.jpg ${httpBase}/api/events/<press id>/snapshot
  Device health           curl -H 'Authorization: Bearer ${apiToken}' ${httpBase}/api/devices/health
  Stop                    Ctrl-C
`)

  let isStopping = false
  const stop = async (): Promise<void> => {
    if (isStopping) return
    isStopping = true
    print('stopping...')
    await control.close()
    await agent.close()
    await collector.close()
    process.exit(0)
  }
  process.on('SIGINT', () => void stop())
  process.on('SIGTERM', () => void stop())
  if (process.stdin.isTTY) {
    createInterface({ input: process.stdin }).on('line', () => hardware.button.pulse(100))
  }
}

runMain(main)
