import { z } from 'zod'

/**
 * The `alerts` section of the collector config: channels, homeowner users and their settings,
 * the operator's channels, SLAs per class, retries, device health and the temperature anomaly detector.
 * Every field has a default, so a collector without an `alerts` section runs with alerts off.
 */

const ms = z.number().int().nonnegative()
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM (24 h)')
/** An IANA time zone that Intl knows (an unknown one would make every quiet-hours check throw). */
export const timeZone = z
  .string()
  .min(1)
  .max(64)
  .refine(isKnownTimeZone, 'expected an IANA time zone, e.g. Europe/Berlin')
export const channelName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'expected a short lowercase name')

/** What an alert is about; users choose the kinds they receive. */
export const alertKinds = ['press', 'motion', 'offline', 'online', 'temperature'] as const

const webhookChannel = z.strictObject({
  kind: z.literal('webhook'),
  name: channelName,
  url: z.url(),
  /** HMAC-SHA256 key; the signature scheme is in docs/alerts.md. */
  secret: z.string().min(16),
})

const ntfyChannel = z.strictObject({
  kind: z.literal('ntfy'),
  name: channelName,
  /** Server base URL, e.g. https://ntfy.example.org (self-hosted or public). */
  serverUrl: z.url(),
  topic: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  /** Access token of a protected topic (sent as Bearer). */
  token: z.string().min(1).optional(),
})

const webPushChannel = z.strictObject({
  kind: z.literal('webpush'),
  name: channelName,
  /** VAPID keys (`npx web-push generate-vapid-keys`) and the contact (mailto: or https:) (RFC 8292). */
  vapid: z.strictObject({
    subject: z.string().regex(/^(mailto:|https:)/),
    publicKey: z.string().min(80),
    privateKey: z.string().min(40),
  }),
  /** How long the push service keeps an undelivered message, in seconds (RFC 8030 TTL). */
  ttlS: z.number().int().min(0).default(300),
  /** Time limit of one push request; all of a user's endpoints are sent to at once, each with this limit. */
  timeoutMs: z.number().int().min(100).default(5000),
  /**
   * Connections to push services kept between sends, so a press's push does not wait for a TCP and TLS
   * handshake (with `pushEndpoints: public`; `any` uses fetch's own pool).
   */
  connections: z
    .strictObject({
      /** Connections open at once to one push service host. */
      maxPerHost: z.number().int().min(1).max(1024).default(16),
      /** How long an idle connection is kept; 0 opens a new connection for each push. */
      idleMs: ms.default(60_000),
    })
    .prefault({}),
})

/** One delivery channel. */
export const channelSchema = z.discriminatedUnion('kind', [webhookChannel, ntfyChannel, webPushChannel])

/** A local time window in which only `allowKinds` are sent; config and the settings page share it. */
export const quietHoursSchema = z.strictObject({
  start: hhmm,
  end: hhmm,
  /** IANA time zone; default the collector's. */
  timeZone: timeZone.optional(),
  allowKinds: z.array(z.enum(alertKinds)).default([]),
})

const userSchema = z.strictObject({
  name: channelName,
  /** Names of channels this user receives alerts on. */
  channels: z.array(channelName).default([]),
  /** Which kinds of alert this user receives. */
  kinds: z.array(z.enum(alertKinds)).default(['press', 'motion', 'offline', 'online', 'temperature']),
  /** A second alert of the same kind from the same device within this time is not sent (double press). */
  cooldownMs: ms.default(30_000),
  /** Local time window in which only `allowKinds` are sent (e.g. 22:00-07:00). */
  quietHours: quietHoursSchema.optional(),
})

const slaSchema = z.strictObject({ targetMs: z.number().int().positive() })

/** Schema of the alerts section. */
export const alertsConfigSchema = z
  .strictObject({
    channels: z.array(channelSchema).default([]),
    users: z.array(userSchema).default([]),
    /** Channels the operator is told on (SLA violations, delivery failures). */
    operatorChannels: z.array(channelName).default([]),
    /**
     * Which Web Push endpoints a session may register and the collector sends to: `public` (https on
     * public addresses only, checked at registration and again at each send) or `any` (also http on
     * loopback and private addresses: a push service stand-in on your own network, as in tests). Any
     * session can register an endpoint, so `any` lets every homeowner make the collector POST inside
     * your network.
     */
    pushEndpoints: z.enum(['public', 'any']).default('public'),
    /** Public base URL of the collector, used to build click and attachment links. */
    publicUrl: z.url().optional(),
    retry: z
      .strictObject({
        /** Attempts per delivery, the first included. */
        attempts: z.number().int().min(1).max(20).default(5),
        initialMs: ms.default(500),
        maxMs: ms.default(60_000),
        /** Most deliveries waiting per channel; beyond it the oldest goes to the dead letters. */
        queueLimit: z.number().int().min(1).default(1000),
        /** Time limit of one HTTP delivery. */
        timeoutMs: z.number().int().min(100).default(10_000),
      })
      .prefault({}),
    /** Service-level targets per class, measured as histograms; breaches alert the operator. */
    sla: z
      .strictObject({
        high: slaSchema.default({ targetMs: 1000 }),
        medium: slaSchema.default({ targetMs: 60_000 }),
        low: slaSchema.default({ targetMs: 24 * 60 * 60 * 1000 }),
        /** At most one operator alert per class and channel within this time. */
        operatorCooldownMs: ms.default(5 * 60_000),
      })
      .prefault({}),
    health: z
      .strictObject({
        /** A device not heard from (any event or heartbeat) for this long is offline. */
        offlineAfterMs: z.number().int().min(1000).default(180_000),
        checkIntervalMs: z.number().int().min(100).default(5_000),
        /** Below this free disk space a device is not OK. */
        minDiskFreeBytes: z
          .number()
          .int()
          .nonnegative()
          .default(100 * 1024 * 1024),
        /** Above this many waiting events a device is not OK. */
        maxOutboxEvents: z.number().int().nonnegative().default(1000),
      })
      .prefault({}),
    temperature: z
      .strictObject({
        /** Readings kept per sensor for the statistics. */
        windowSize: z.number().int().min(5).max(1000).default(30),
        /** Fewest readings before the z-score is trusted. */
        minSamples: z.number().int().min(3).default(10),
        zScore: z.number().positive().default(4),
        /** A rise faster than this (°C per minute, against the newest reading at least 30 s old) alerts at once (a fire). */
        maxRiseCPerMin: z.number().positive().default(2),
        /** At or above this it alerts regardless (a doorbell cooking in the sun). */
        maxCelsius: z.number().default(70),
      })
      .prefault({}),
    mqttDiscovery: z
      .strictObject({
        /** Publish Home Assistant MQTT discovery configs through the collector's broker. */
        isEnabled: z.boolean().default(true),
      })
      .prefault({}),
  })
  .superRefine((alerts, ctx) => {
    const names = new Set<string>()
    alerts.channels.forEach((channel, index) => {
      if (names.has(channel.name))
        ctx.addIssue({
          code: 'custom',
          message: `duplicate channel ${channel.name}`,
          path: ['channels', index, 'name'],
        })
      names.add(channel.name)
    })
    if (alerts.channels.filter((c) => c.kind === 'webpush').length > 1)
      ctx.addIssue({ code: 'custom', message: 'at most one webpush channel', path: ['channels'] })
    alerts.users.forEach((user, index) => {
      user.channels.forEach((name, at) => {
        if (!names.has(name))
          ctx.addIssue({
            code: 'custom',
            message: `no channel named ${name}`,
            path: ['users', index, 'channels', at],
          })
      })
    })
    alerts.operatorChannels.forEach((name, at) => {
      if (!names.has(name))
        ctx.addIssue({ code: 'custom', message: `no channel named ${name}`, path: ['operatorChannels', at] })
    })
  })

/** The validated alerts configuration. */
export type AlertsConfig = z.output<typeof alertsConfigSchema>
/** One channel's configuration. */
export type ChannelConfig = z.output<typeof channelSchema>
/** One homeowner's settings. */
export type AlertUser = z.output<typeof userSchema>
/** What an alert is about. */
export type AlertKind = (typeof alertKinds)[number]

function isKnownTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: name })
    return true
  } catch {
    return false
  }
}
