#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { loadConfig } from '../shared/config/load-config.js'
import { DoorbellError, errorCatalogue } from '../shared/errors.js'
import { createLogger, type Logger } from '../shared/logger.js'
import { runMain } from '../shared/run-main.js'
import { agentVersion, type RunningAgent, startAgent } from './agent.js'
import { SystemClock } from './clock/clock.js'
import { agentConfigSchema } from './config/agent-config.js'
import type { ControlServer } from './control/control-server.js'
import { type AgentHardware, createSimulatedHardware, type SimulatedHardware } from './hardware.js'
import type { AgentMediaDeps } from './media/agent-media.js'
import { simulatedLiveConfig, simulatedMediaConfig } from './media/simulated-media-config.js'
import type { Speaker } from './speaker/speaker.js'
import { SystemdNotifier } from './system/sd-notify.js'

const help = `doorbell-agent ${agentVersion}: the Raspberry Pi side of the doorbell.

Usage: doorbell-agent [--config FILE] [--simulate]

Options:
  -c, --config FILE   agent config (YAML). The fields deviceId and mqtt.* are what
                      \`doorbell-admin devices add --write-config FILE\` writes; every other
                      field has a default (see docs/agent.md). DOORBELL_* variables
                      override fields, e.g. DOORBELL_MQTT__URL=mqtts://collector:8883.
  -s, --simulate      use the simulated twins of the button, PIR, DS18B20, BH1750, camera
                      (ffmpeg testsrc2, 320x240 at 10 fps) and microphone, and
                      start the control endpoint on 127.0.0.1 (control.port, 0 = free;
                      POSTs need content-type: application/json, J below):
                        J='content-type: application/json'
                        curl -XPOST -H "$J" 127.0.0.1:PORT/button/press
                        curl -XPOST -H "$J" 127.0.0.1:PORT/motion
                        curl -XPOST -H "$J" 127.0.0.1:PORT/temperature -d '{"celsius":21.5}'
                        curl -XPOST -H "$J" 127.0.0.1:PORT/light -d '{"lux":300}'
                        curl -XPOST -H "$J" 127.0.0.1:PORT/armed -d '{"armed":true}'
                        curl 127.0.0.1:PORT/state
  -h, --help          show this help

Logs are JSON lines on stdout; 'agent ready' carries {deviceId, controlPort}.
Under systemd (Type=notify, NotifyAccess=all) it sends READY=1 and WATCHDOG=1.
Exit codes: 0 after SIGTERM/SIGINT, 1 on bad config or a store that will not open, 2 on bad usage.`

function parseCli(argv: readonly string[]): { config?: string; simulate: boolean; help: boolean } {
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string', short: 'c' },
        simulate: { type: 'boolean', short: 's', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    })
    return {
      ...(values.config ? { config: values.config } : {}),
      simulate: values.simulate,
      help: values.help,
    }
  } catch (err) {
    throw new DoorbellError('USAGE', (err as Error).message, { cause: err })
  }
}

function wireLogs(log: Logger, agent: RunningAgent): void {
  agent.on('recorded', (e) =>
    e.class === 'high'
      ? log.info({ id: e.id, seq: e.seq, type: e.type }, 'event recorded')
      : log.debug({ id: e.id, seq: e.seq, type: e.type }, 'reading recorded'),
  )
  agent.on('fault', (where, err) => log.warn({ err, where }, 'component failed'))
  agent.on('armed', (isArmed) => log.info({ isArmed }, isArmed ? 'armed' : 'disarmed'))
  agent.uplink.on('online', () => log.info({ outbox: agent.outbox.depth().count }, 'uplink online'))
  agent.uplink.on('offline', (delayMs) => log.warn({ reconnectInMs: delayMs }, 'uplink offline'))
  agent.uplink.on('connectionError', (err) => {
    // CONNACK return codes 4 and 5 (MQTT 3.1.1 section 3.2.2.3): retrying will not help until a human acts.
    const code = (err as { code?: unknown }).code
    if (code === 4 || code === 5)
      log.error({ err, fix: errorCatalogue.AUTH_FAILED.fix }, 'collector refused the device')
    else log.debug({ err }, 'uplink connection error')
  })
  agent.outbox.on('evicted', (eventClass, count) => log.warn({ eventClass, count }, 'outbox full: evicted'))
  agent.batcher.on('flushFailed', (err, count) => log.error({ err, count }, 'readings not stored'))
  agent.sender.on('rejected', (id, code, willRetry) => log.warn({ id, code, willRetry }, 'event rejected'))
  agent.sender.on('badMessage', (err) => log.warn({ err }, 'bad message from collector'))
  agent.sender.on('publishFailed', (err) => log.debug({ err }, 'publish failed, will resend'))
  agent.sender.on('command', (c) => log.info({ id: c.id, name: c.payload.name }, 'command'))
  agent.on('clipEvicted', (e) =>
    e.wasUploaded
      ? log.debug(e, 'uploaded clip evicted')
      : log.warn(e, 'clip evicted before its upload finished (clip storage full)'),
  )
  agent.on('clipResend', (r) =>
    r.outcome === 'unavailable'
      ? log.error(r, 'collector asked for a clip again, but it is no longer stored: the clip is lost')
      : log.warn(r, 'collector asked for a clip again (its whole file failed the check)'),
  )
  agent.on('liveStarted', (sessionId) => log.info({ sessionId }, 'live view started'))
  agent.on('liveStopped', (sessionId, reason) => log.info({ sessionId, reason }, 'live view stopped'))
  agent.on('liveQuality', (sessionId, quality) => log.info({ sessionId, quality }, 'live view quality'))
  agent.on('liveRefused', (err) => log.warn({ err }, 'live command refused'))
  agent.on('clipDone', (d) =>
    d.outcome === 'uploaded' ? log.info(d, 'clip uploaded') : log.warn(d, 'clip upload failed'),
  )
}

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2))
  if (cli.help) {
    process.stdout.write(`${help}\n`)
    return
  }
  const loaded = loadConfig({ schema: agentConfigSchema, file: cli.config, env: process.env })
  // --simulate also simulates the camera (lavfi testsrc2 + sine, small), the microphone and the speaker.
  const config = cli.simulate
    ? { ...loaded, media: simulatedMediaConfig(loaded), live: simulatedLiveConfig(loaded) }
    : loaded
  const log = createLogger({ name: 'doorbell-agent', level: config.logLevel })
  const clock = new SystemClock()
  const notifier = new SystemdNotifier({
    env: process.env,
    pid: process.pid,
    clock,
    onError: (err) => log.warn({ err }, 'sd_notify failed'),
  })
  let agent: RunningAgent | undefined
  let control: ControlServer | undefined
  let isStopping = false
  const stop = async (reason: string, exitCode: number): Promise<void> => {
    if (isStopping) return
    isStopping = true
    log.info({ reason }, 'stopping')
    await notifier.stopping()
    await control?.close()
    await agent?.close()
    log.info('agent stopped')
    process.exit(exitCode)
  }
  process.on('SIGTERM', () => void stop('SIGTERM', 0))
  process.on('SIGINT', () => void stop('SIGINT', 0))

  const simulated: SimulatedHardware | undefined = cli.simulate ? createSimulatedHardware(clock) : undefined
  // Modules are loaded only for what the config uses: on a Pi Zero 2 W each costs resident memory.
  const hardware: AgentHardware =
    simulated ??
    (await (
      await import('./real-hardware.js')
    ).createRealHardware(config, {
      clock,
      // A dead gpiomon means a dead doorbell: stop cleanly with code 1 so systemd restarts the agent.
      onInputExit: (name, code) => {
        log.error({ input: name, code }, 'GPIO watcher exited')
        void stop('gpio watcher exited', 1)
      },
    }))
  const speaker: Speaker | undefined =
    config.live.enabled && config.live.speaker.enabled
      ? (await import('./speaker/create-speaker.js')).createSpeaker(config.live.speaker, {
          dataDir: config.dataDir,
          onError: (err) => log.warn({ err }, 'speaker failed'),
        })
      : undefined
  const usesMedia = config.media.enabled || config.media.microphone.enabled || config.live.enabled
  const media: AgentMediaDeps | undefined = usesMedia
    ? (await import('./media/create-media.js')).createMediaDeps(config)
    : undefined
  agent = await startAgent(config, {
    hardware,
    clock,
    ...(media ? { media } : {}),
    ...(speaker ? { speaker } : {}),
  })
  wireLogs(log, agent)
  if (simulated) {
    const { startControlServer } = await import('./control/control-server.js')
    control = await startControlServer(agent, simulated, config.control)
  }
  log.info(
    { deviceId: config.deviceId, simulate: cli.simulate, ...(control ? { controlPort: control.port } : {}) },
    'agent ready',
  )
  await notifier.ready()
}

runMain(main)
