/**
 * The one catalogue of error codes used by agent, collector and admin CLI.
 * Each entry carries a message template and the fix a user should try (fastify's lib/errors.js pattern).
 */

/** A catalogue entry: what went wrong and what the user should do about it. */
export interface ErrorSpec {
  readonly message: string
  readonly fix: string
}

export const errorCatalogue = {
  CONFIG_INVALID: {
    message: 'The configuration is invalid',
    fix: 'Correct each field listed below in the YAML file or the DOORBELL_* environment variable that sets it.',
  },
  CONFIG_UNREADABLE: {
    message: 'The configuration file cannot be read',
    fix: 'Check that the path given with --config exists, is readable and is valid YAML.',
  },
  PROTOCOL_MALFORMED: {
    message: 'The message is malformed',
    fix: 'Send a protocol v1 envelope as described in docs/protocol.md; the field named in the error is wrong.',
  },
  PROTOCOL_OVERSIZED: {
    message: 'The message is larger than the protocol allows',
    fix: 'Split the data: readings go in batches of at most the batch limit, clips in chunks (docs/protocol.md).',
  },
  PROTOCOL_UNKNOWN_TYPE: {
    message: 'The message type is not known to protocol v1',
    fix: 'Use one of the types listed in docs/protocol.md, or upgrade the collector.',
  },
  PROTOCOL_TOPIC: {
    message: 'The topic is not a protocol v1 topic',
    fix: 'Publish under doorbell/v1/<deviceId>/... as built by shared/protocol/topics.ts.',
  },
  PROTOCOL_MISMATCH: {
    message: 'The message does not match its topic',
    fix: 'The device id and class in the envelope must equal those in the topic.',
  },
  STORE_OPEN_FAILED: {
    message: 'The data store cannot be opened',
    fix: 'Check that the data folder exists, is writable by this user and is not opened by another process.',
  },
  STORE_DISK_FULL: {
    message: 'The disk holding the data folder is full',
    fix: 'Free space on the disk or lower the retention settings; nothing already stored was lost.',
  },
  STORE_WRITE_FAILED: {
    message: 'The data store could not write',
    fix: 'Check the disk holding the data folder; the events were not stored and the devices will send them again.',
  },
  POSTGRES_UNAVAILABLE: {
    message: 'PostgreSQL cannot be reached or refused the request',
    fix: 'Check postgres.url (host, port, user, password, database) and that the server runs; events are refused with retry until it answers, and nothing already acknowledged is lost.',
  },
  POSTGRES_MIGRATION_FAILED: {
    message: 'The PostgreSQL schema could not be brought up to date',
    fix: 'Check that the user of postgres.url may create tables in its database, then start the collector again (migrations run once, under a lock, whichever node starts first).',
  },
  REDIS_UNAVAILABLE: {
    message: 'Redis cannot be reached',
    fix: 'Check redis.url and that the server runs; the brokers of a fleet share sessions and messages there, and its nodes count failed dashboard logins there (refused with a retry while it is away).',
  },
  RATE_LIMITED: {
    message: 'The device publishes faster than its rate limit',
    fix: 'Send less often, or raise limits.devicePublishesPerS / devicePublishBurst in the collector config.',
  },
  CLOCK_AHEAD: {
    message: "The event is dated ahead of the collector's clock by more than it allows",
    fix: "Set the device's clock (timedatectl set-ntp true); nothing is lost, the device sends it again. Or raise limits.maxClockAheadMs.",
  },
  STORAGE_QUOTA: {
    message: 'The device has sent more bytes today than its storage quota allows',
    fix: 'Nothing is lost: the device sends them again later. Find why it sends so much (clips, snapshots), or raise limits.deviceBytesPerDay.',
  },
  COLLECTOR_BUSY: {
    message: 'The collector has too many events waiting to be stored',
    fix: 'Nothing was lost: the device sends them again later. If it persists, check the disk (store.maxQueuedItems).',
  },
  AUTH_FAILED: {
    message: 'Bad username or password',
    fix: 'Check the device id and secret; `doorbell-admin devices rotate <id>` issues a new secret.',
  },
  ROUTE_UNGUARDED: {
    message: 'An HTTP route was registered without a permission',
    fix: 'Add the route, as "METHOD url", to collector/access/route-permissions.ts with what it needs.',
  },
  DEVICE_EXISTS: {
    message: 'A device with this id already exists',
    fix: 'Pick another id, or rotate the secret of the existing device.',
  },
  DEVICE_NOT_FOUND: {
    message: 'No device with this id',
    fix: 'List the devices with `doorbell-admin devices list`.',
  },
  USER_EXISTS: {
    message: 'A user with this name already exists',
    fix: 'Pick another name, or remove the existing user first.',
  },
  USER_NOT_FOUND: {
    message: 'No user with this name',
    fix: 'List the users with `doorbell-admin users list`.',
  },
  REGISTRY_BUSY: {
    message: 'The device registry is locked by another process',
    fix: 'Retry in a moment; if no doorbell-admin or collector is running, remove the stale registry.json.lock beside registry.json.',
  },
  HARDWARE_UNAVAILABLE: {
    message: 'The hardware interface is not available',
    fix: 'Run on a Raspberry Pi with the interface enabled, or start with --simulate.',
  },
  DEPENDENCY_MISSING: {
    message: 'A required system program is missing',
    fix: 'Install it with apt-get (the README lists the system packages).',
  },
  CAMERA_FAILED: {
    message: 'The camera capture failed',
    fix: 'Check that the camera is connected and enabled (rpicam-hello --list-cameras, v4l2-ctl --list-devices) and that ffmpeg is installed.',
  },
  CLIP_FAILED: {
    message: 'A clip could not be assembled',
    fix: 'Check that the ring folder (media.ring.dir) has room and that pre-roll + post-roll fit in the ring (docs/media.md).',
  },
  CLIP_STATE_INVALID: {
    message: 'A clip upload state file is invalid',
    fix: 'The clip will be uploaded again from its first chunk; remove the .upload.json file if this repeats.',
  },
  CLIP_EXPIRED: {
    message: 'The chunk belongs to a clip the collector no longer keeps (past retentionDays.low)',
    fix: 'Nothing to do: the device drops the clip. If devices stay offline longer than retentionDays.low, raise it in the collector config.',
  },
  CLIP_FOREIGN: {
    message: 'The clip id belongs to a clip another device uploaded',
    fix: "Nothing to do: the device drops the clip. Clip ids are ULIDs; a device that reuses another device's ids is misbehaving or compromised.",
  },
  HEALTH_STATE_INVALID: {
    message: 'The device health state file is invalid',
    fix: 'Nothing to do: it was ignored and is rewritten; devices are watched from this start (docs/alerts.md). Look at the file if this repeats.',
  },
  DISCOVERY_STATE_INVALID: {
    message: 'The Home Assistant discovery state file is invalid',
    fix: 'Nothing to do: it was ignored and is rewritten; a device removed while the collector was down may stay in Home Assistant until you delete it there (docs/alerts.md).',
  },
  MICROPHONE_FAILED: {
    message: 'The microphone recording failed',
    fix: 'Check the ALSA device (arecord -l) and media.microphone.device, or use the simulated microphone.',
  },
  LIVE_SIGNAL_INVALID: {
    message: 'The live-view signalling message is invalid',
    fix: 'Send what docs/live.md describes: an SDP offer or answer for the session, with its token; nothing was changed.',
  },
  LIVE_FORBIDDEN: {
    message: 'This account may not do that in a live view',
    fix: 'Starting a live view and talking need the owner role (or live.talkRole: viewer in the collector config); ask an owner.',
  },
  LIVE_UNAVAILABLE: {
    message: 'The doorbell cannot stream now',
    fix: 'Check that the device is online and its camera runs (device health); try again in a few seconds.',
  },
  LIVE_FULL: {
    message: 'Too many people are watching this doorbell',
    fix: 'Wait until someone leaves, or raise live.maxViewersPerDevice in the collector config.',
  },
  LIVE_SESSION_NOT_FOUND: {
    message: 'No such live view',
    fix: 'The session ended (last viewer left, idle or maximum length): open the live view again.',
  },
  SPEAKER_FAILED: {
    message: 'The speaker playback failed',
    fix: 'Check the ALSA device (aplay -l) and live.speaker.device, or use the simulated speaker.',
  },
  USAGE: {
    message: 'Bad command-line usage',
    fix: 'Run the command with --help.',
  },
} as const satisfies Record<string, ErrorSpec>

/** A code from the catalogue. */
export type ErrorCode = keyof typeof errorCatalogue

/** The only error class the project throws on purpose: a catalogue code, a detail, and the documented fix. */
export class DoorbellError extends Error {
  readonly code: ErrorCode
  readonly fix: string
  /** Machine-readable context, e.g. the config field or protocol path that was rejected. */
  readonly details: Readonly<Record<string, unknown>>

  constructor(
    code: ErrorCode,
    detail?: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    const spec = errorCatalogue[code]
    super(detail ? `${spec.message}: ${detail}` : spec.message, { cause: options.cause })
    this.name = 'DoorbellError'
    this.code = code
    this.fix = spec.fix
    this.details = Object.freeze({ ...options.details })
  }
}

/** True when err is a DoorbellError, optionally with the given code. */
export function isDoorbellError(err: unknown, code?: ErrorCode): err is DoorbellError {
  return err instanceof DoorbellError && (code === undefined || err.code === code)
}

/** Formats an error for a person at a terminal: message, then the fix. */
export function formatForUser(err: unknown): string {
  if (err instanceof DoorbellError) return `error ${err.code}: ${err.message}\n  fix: ${err.fix}`
  if (err instanceof Error) return `error: ${err.message}`
  return `error: ${String(err)}`
}
