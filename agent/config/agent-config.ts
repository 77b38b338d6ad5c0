import { z } from 'zod'
import { deviceIdPattern } from '../../shared/protocol/index.js'
import { liveConfigSchema } from '../live/live-config.js'
import { mediaConfigSchema } from '../media/media-config.js'

/**
 * The agent's config file (YAML, DOORBELL_* overrides, see shared/config/load-config.ts). deviceId and
 * mqtt.{url,username,password,caFile} are the fields `doorbell-admin devices add --write-config` writes.
 * Every other field has a default, so that generated file alone starts an agent.
 */

const ms = z.number().int().positive()
const gpioLine = z.strictObject({
  /** Line offset on the chip, i.e. the BCM GPIO number on a Pi (not the sysfs number). */
  line: z.number().int().min(0).max(511),
  /** True when the input reads 0 while active (button to ground with a pull-up). */
  activeLow: z.boolean().default(true),
  /** Software debounce: a level must hold this long to count. */
  debounceMs: z.number().int().min(0).max(10_000).default(50),
})

/** Schema of the agent config; every field but deviceId and mqtt.url has a default. */
export const agentConfigSchema = z.strictObject({
  deviceId: z.string().regex(deviceIdPattern, 'expected 1-64 of [A-Za-z0-9_-]'),
  mqtt: z.strictObject({
    /** mqtt://host:1883, mqtts://host:8883, or loopback: for an in-process simulated collector. */
    url: z.string().regex(/^(mqtts?:\/\/.+|loopback:)$/, 'expected mqtt://, mqtts:// or loopback:'),
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    /** PEM file of the CA to pin for mqtts. */
    caFile: z.string().min(1).optional(),
    keepaliveS: z.number().int().min(5).max(3600).default(30),
    connectTimeoutMs: ms.default(10_000),
    reconnectInitialMs: ms.default(1_000),
    reconnectMaxMs: ms.default(60_000),
  }),
  /** Folder of the outbox database. */
  dataDir: z.string().min(1).default('./data/agent'),
  /** Whether motion is an alert (high) at start; arm/disarm commands change it. */
  armed: z.boolean().default(false),
  outbox: z
    .strictObject({
      /** Byte budget of the outbox; low then medium are evicted beyond it, high never. */
      maxBytes: z
        .number()
        .int()
        .min(64 * 1024)
        .default(64 * 1024 * 1024),
      /** Resend an event not acked after this long. */
      ackTimeoutMs: ms.default(30_000),
      /** Wait before resending an event the collector rejected with retry:true. */
      retryDelayMs: ms.default(30_000),
      /** Most envelopes in one batch/medium message (protocol limit 500). */
      sendBatchMaxItems: z.number().int().min(1).max(500).default(500),
      /** Medium envelopes in flight (published, not acked). */
      mediumWindow: z.number().int().min(1).default(2_000),
    })
    .prefault({}),
  medium: z
    .strictObject({
      /** A reading batch is written to the outbox at most this long after its first reading. */
      batchIntervalMs: ms.default(10_000),
      /** ...or as soon as it holds this many readings. */
      batchMaxItems: z.number().int().min(1).max(500).default(50),
      /** An unchanged reading is resent after this long, so the collector sees the sensor alive. */
      maxSilenceMs: ms.default(15 * 60_000),
      temperatureDeltaC: z.number().nonnegative().default(0.25),
      lightDeltaRatio: z.number().nonnegative().default(0.1),
      lightDeltaLux: z.number().nonnegative().default(5),
    })
    .prefault({}),
  gpio: z
    .strictObject({
      /** auto: libgpiod tools when present, else sysfs (onoff). */
      backend: z.enum(['auto', 'gpiod', 'sysfs']).default('auto'),
      /** gpiochip label holding the header pins; pinctrl-rp1 on a Pi 5. */
      chipLabel: z.string().min(1).optional(),
      button: gpioLine.prefault({ line: 17 }),
      motion: gpioLine
        .extend({ activeLow: z.boolean().default(false) })
        .prefault({ line: 27, debounceMs: 200 }),
    })
    .prefault({}),
  sensors: z
    .strictObject({
      temperature: z
        .strictObject({
          enabled: z.boolean().default(true),
          /** 1-wire device id such as 28-0316a279d4ff; the first 28-* when absent. */
          device: z
            .string()
            .regex(/^28-[0-9a-f]{12}$/)
            .optional(),
          intervalMs: ms.default(30_000),
        })
        .prefault({}),
      light: z
        .strictObject({
          enabled: z.boolean().default(true),
          /** BH1750 on I2C: bus number (/dev/i2c-N) and 7-bit address (0x23, or 0x5c with ADDR high). */
          i2cBus: z.number().int().min(0).max(32).default(1),
          address: z.number().int().min(0x03).max(0x77).default(0x23),
          intervalMs: ms.default(30_000),
        })
        .prefault({}),
    })
    .prefault({}),
  health: z.strictObject({ intervalMs: ms.default(60_000) }).prefault({}),
  /** Camera, clips and microphone (issue 5, docs/media.md); parsed here so one file configures the agent. */
  media: mediaConfigSchema.prefault({}),
  /** Live view and two-way talk (docs/live.md): the camera's stream tapped, the speaker for talk. */
  live: liveConfigSchema.prefault({}),
  /** Local control endpoint of the simulated twins (--simulate only). Port 0 picks a free one. */
  control: z
    .strictObject({
      host: z.literal('127.0.0.1').default('127.0.0.1'),
      port: z.number().int().min(0).max(65_535).default(0),
    })
    .prefault({}),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
})

/** The validated, frozen agent config. */
export type AgentConfig = z.output<typeof agentConfigSchema>
/** The config as written in YAML (defaults optional). */
export type AgentConfigInput = z.input<typeof agentConfigSchema>
