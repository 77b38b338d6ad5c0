import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import mqtt, { type MqttClient } from 'mqtt'
import { ulid } from 'ulid'
import { afterAll, beforeAll } from 'vitest'
import { type CollectorConfig, collectorConfig } from '../../collector/config.js'
import { type RunningCollector, startCollector } from '../../collector/main.js'
import { FileIdentityRegistry } from '../../collector/registry/file-identity-registry.js'
import {
  createEnvelope,
  type Envelope,
  encodeChunk,
  encodeEvent,
  topics,
} from '../../shared/protocol/index.js'

/** A temp folder removed by cleanup(). */
export function tempDir(prefix: string): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), `${prefix}-`))
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) }
}

/** Config for a test collector on loopback with free ports (and /metrics open: loopback only). */
export function testConfig(
  dataDir: string,
  overrides: Partial<Parameters<typeof collectorConfig>[0]> = {},
): CollectorConfig {
  return collectorConfig({
    dataDir,
    host: '127.0.0.1',
    mqtt: { port: 0, wsPort: null },
    http: { port: 0, metricsAccess: 'public' },
    ...overrides,
  })
}

/** Registers a device and returns its secret. */
export function addDevice(dataDir: string, deviceId: string): Promise<string> {
  return new FileIdentityRegistry(dataDir).addDevice(deviceId)
}

/** Result of running an outside command. */
export interface CommandResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs a program to completion with a deadline (never throws on a non-zero exit). */
export function run(
  file: string,
  args: readonly string[],
  timeoutMs = 10_000,
  input?: string,
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === 'number'
          ? (err as { code: number }).code
          : 1
        : 0
      resolve({ code, stdout, stderr })
    })
    if (input !== undefined) child.stdin?.end(input)
  })
}

/** mosquitto_pub arguments for a device on a collector. */
export function pubArgs(port: number, user: string, password: string, clientId: string): string[] {
  return [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-u',
    user,
    '-P',
    password,
    '-i',
    clientId,
    '-q',
    '1',
    '-V',
    'mqttv311',
  ]
}

/** A valid temperature reading. */
export function reading(deviceId: string, seq: number, celsius = 21): Envelope {
  return createEnvelope({ deviceId, seq, type: 'temperature', payload: { celsius, sensor: 'bme280' } })
}

/** A button press. */
export function press(deviceId: string, seq: number): Envelope {
  return createEnvelope({ deviceId, seq, type: 'button.press', payload: {} })
}

/** Encodes an envelope as the string mosquitto_pub sends. */
export function text(envelope: Envelope): string {
  return encodeEvent(envelope).toString('utf8')
}

/** Value of one Prometheus sample from /metrics text, 0 when absent. */
export async function metric(collector: RunningCollector, name: string, labels = ''): Promise<number> {
  const text = await collector.metrics.registry.metrics()
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `))
  return line ? Number(line.split(' ').at(-1)) : 0
}

/** The rejection counter of one reason. */
export function rejections(collector: RunningCollector, reason: string): Promise<number> {
  return metric(collector, 'doorbell_collector_rejections_total', `reason="${reason}"`)
}

/** A collector for one describe block, with device `porch` registered: started before its tests, closed after. */
export function collectorWithPorch(
  prefix: string,
  overrides: Partial<Parameters<typeof collectorConfig>[0]> = {},
): { readonly collector: RunningCollector; readonly secret: string } {
  const dir = tempDir(prefix)
  const rig = {} as { collector: RunningCollector; secret: string }
  beforeAll(async () => {
    rig.secret = await addDevice(dir.path, 'porch')
    rig.collector = await startCollector(testConfig(dir.path, overrides))
  })
  afterAll(async () => {
    await rig.collector?.close()
    dir.cleanup()
  })
  return rig
}

export { startCollector }

/** A clip.manifest of device 'porch' whose clip id (the start) and envelope id (10 s later) carry atMs. */
export function manifestAt(
  atMs: number,
  file: { bytes: number; sha256: string; chunkBytes: number; chunkCount: number },
): Envelope<'clip.manifest'> {
  // ulid() is not monotonic (newEventId is), so ids of any time can be made in any order.
  return createEnvelope({
    deviceId: 'porch',
    seq: 1,
    id: ulid(atMs + 10_000),
    capturedAtMs: atMs + 10_000,
    type: 'clip.manifest',
    payload: {
      clipId: ulid(atMs),
      contentType: 'video/mp4',
      startedAt: new Date(atMs).toISOString(),
      durationMs: 10_000,
      prerollMs: 0,
      hasAudio: false,
      ...file,
    },
  })
}

/** A clip as a device uploads it: its manifest, and each chunk's frame with its envelope id. */
export interface ClipUpload {
  readonly manifest: Envelope<'clip.manifest'>
  readonly chunks: readonly { readonly frame: Buffer; readonly id: string }[]
}

/**
 * The manifest (seq 1) and chunk envelopes (seq 2, 3, ...) of body, from deviceId; `sha256` replaces the
 * body's own (a clip whose whole file fails the check while each chunk passes its CRC).
 */
export function clipUpload(
  deviceId: string,
  clipId: string,
  body: Buffer,
  chunkBytes: number,
  options: { sha256?: string } = {},
): ClipUpload {
  const chunkCount = Math.ceil(body.length / chunkBytes)
  const manifest = createEnvelope({
    deviceId,
    seq: 1,
    type: 'clip.manifest',
    payload: {
      clipId,
      contentType: 'video/mp4',
      startedAt: new Date().toISOString(),
      durationMs: 5000,
      prerollMs: 1000,
      hasAudio: false,
      bytes: body.length,
      sha256: options.sha256 ?? createHash('sha256').update(body).digest('hex'),
      chunkBytes,
      chunkCount,
    },
  })
  const chunks = Array.from({ length: chunkCount }, (_, index) => {
    const data = body.subarray(index * chunkBytes, (index + 1) * chunkBytes)
    const envelope = createEnvelope({
      deviceId,
      seq: 2 + index,
      type: 'clip.chunk',
      payload: { clipId, index, offset: index * chunkBytes, size: data.length, crc32: crc32(data) },
    })
    return { frame: encodeChunk(envelope, data), id: envelope.id }
  })
  return { manifest, chunks }
}

/** What a device client received: ids acked, refusals, and command payloads. */
export interface DeviceInbox {
  readonly acked: Set<string>
  readonly rejected: { id: string; code: string; retry: boolean }[]
  readonly commands: unknown[]
}

/** Connects to a collector as a device with MQTT.js, subscribed to its ack topic (commands arrive unasked). */
export async function connectDevice(
  port: number,
  deviceId: string,
  secret: string,
): Promise<{ client: MqttClient; inbox: DeviceInbox }> {
  const inbox: DeviceInbox = { acked: new Set(), rejected: [], commands: [] }
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
    clientId: deviceId,
    username: deviceId,
    password: secret,
    reconnectPeriod: 0,
  })
  client.on('message', (topic, message) => {
    const envelope = JSON.parse(message.toString()) as { payload: unknown }
    if (topic === topics.command(deviceId)) {
      inbox.commands.push(envelope.payload)
      return
    }
    const ack = envelope.payload as { ids: string[]; rejected: DeviceInbox['rejected'] }
    for (const id of ack.ids) inbox.acked.add(id)
    inbox.rejected.push(...ack.rejected)
  })
  await new Promise<void>((resolve) => client.once('connect', () => resolve()))
  await client.subscribeAsync(topics.ack(deviceId), { qos: 1 })
  return { client, inbox }
}
