import { readFileSync } from 'node:fs'
import { DoorbellError } from '../../shared/errors.js'
import type { Clock } from '../clock/clock.js'
import type { AgentConfig } from '../config/agent-config.js'
import { LoopbackUplink } from './loopback-uplink.js'
import { MqttUplink } from './mqtt-uplink.js'
import type { Uplink } from './uplink.js'

/** Builds the uplink the config names: MQTT (with the pinned CA for mqtts) or the in-process loopback. */
export function createUplink(
  config: AgentConfig,
  deps: { clock: Clock; statusMessage: (state: 'online' | 'offline') => Buffer },
): Uplink {
  if (config.mqtt.url === 'loopback:') return new LoopbackUplink(config.deviceId)
  let ca: Buffer | undefined
  if (config.mqtt.caFile) {
    try {
      ca = readFileSync(config.mqtt.caFile)
    } catch (err) {
      throw new DoorbellError('CONFIG_INVALID', `mqtt.caFile: cannot read ${config.mqtt.caFile}`, {
        cause: err,
        details: { field: 'mqtt.caFile' },
      })
    }
  }
  return new MqttUplink({
    clock: deps.clock,
    statusMessage: deps.statusMessage,
    options: {
      url: config.mqtt.url,
      deviceId: config.deviceId,
      username: config.mqtt.username,
      password: config.mqtt.password,
      ca,
      keepaliveS: config.mqtt.keepaliveS,
      connectTimeoutMs: config.mqtt.connectTimeoutMs,
      backoff: { initialDelayMs: config.mqtt.reconnectInitialMs, maxDelayMs: config.mqtt.reconnectMaxMs },
    },
  })
}
