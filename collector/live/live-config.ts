import { z } from 'zod'
import { turnConfigSchema } from './turn-credentials.js'

/**
 * The live-view part of the collector config, under `live:` (docs/live.md). Every limit has a default.
 * The collector is the one reachable point: devices and browsers both reach its one UDP port.
 */
export const collectorLiveConfigSchema = z
  .strictObject({
    /** Whether live view is offered at all. */
    enabled: z.boolean().default(true),
    /**
     * The one UDP port every WebRTC peer (devices and browsers) uses, multiplexed by ICE (open it in the
     * firewall). 0 picks a free port at start (tests).
     */
    udpPort: z.number().int().min(0).max(65_535).default(8189),
    /** Address the UDP port binds to and announces; all host addresses when absent. */
    bindAddress: z.string().min(1).optional(),
    /**
     * Address the candidates also announce (the public address of a NAT or container host that forwards
     * `udpPort` to the collector unchanged), beside the bound ones; browsers and devices try both.
     */
    publicAddress: z.union([z.ipv4(), z.ipv6()]).optional(),
    /** Who may start a live session; anyone signed in may join one that runs. */
    startRole: z.enum(['owner', 'viewer']).default('owner'),
    /** Who may talk through the door's speaker. */
    talkRole: z.enum(['owner', 'viewer']).default('owner'),
    /** Viewers of one device at once; one more is refused with LIVE_FULL. */
    maxViewersPerDevice: z.number().int().min(1).max(64).default(4),
    /** Longest session; it ends then whoever watches (Ring stops at 30 s on battery, 60 s wired). */
    maxSessionMs: z
      .number()
      .int()
      .min(5000)
      .default(10 * 60_000),
    /** A viewer whose page sent no keep-alive for this long (a closed laptop, a locked phone) is dropped. */
    viewerIdleMs: z.number().int().min(2000).max(600_000).default(30_000),
    /** How long the device has to answer `live.start`. */
    deviceAnswerTimeoutMs: z.number().int().min(500).max(60_000).default(8000),
    /** Ceiling of the device's live stream, kbit/s, sent with `live.start`. */
    maxBitrateKbps: z.number().int().min(32).max(20_000).default(2000),
    /** Bytes of the latest group of pictures kept for a new viewer's first frame. */
    maxGopBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .default(4 * 1024 * 1024),
    /** Signalling requests per viewer per minute (answers, talk, keep-alives); more are refused 429. */
    maxRequestsPerMinute: z.number().int().min(10).max(10_000).default(120),
    /** STUN/TURN servers given to browsers (and devices), e.g. coturn beside the collector. */
    iceServers: z
      .array(
        z.strictObject({
          url: z.string().regex(/^(stun|turn|turns):\S+$/, 'expected a stun:, turn: or turns: URL'),
          username: z.string().min(1).optional(),
          credential: z.string().min(1).optional(),
        }),
      )
      .max(4)
      .default([]),
    /**
     * coturn beside the collector (docs/live.md, "TURN"): its shared secret and URLs; each browser and
     * device gets credentials for its session. Absent: no TURN, so UDP must reach the collector.
     */
    turn: turnConfigSchema.optional(),
    /**
     * The fallback when no WebRTC path connects (all UDP blocked, docs/live.md "Fallback"): the video and
     * the door's sound as fragmented MP4 over the page's WebSocket, into Media Source Extensions.
     */
    fallback: z
      .strictObject({
        /** Whether pages may switch to it. */
        enabled: z.boolean().default(true),
        /** How long the page waits for WebRTC to connect before it switches. */
        afterMs: z.number().int().min(500).max(60_000).default(4000),
        /**
         * Bytes waiting in a viewer's WebSocket above which frames are dropped up to the next keyframe
         * (a slow link freezes the picture instead of falling behind live): about 2 s at 1 Mbit/s.
         */
        maxBufferedBytes: z
          .number()
          .int()
          .min(16 * 1024)
          .max(16 * 1024 * 1024)
          .default(256 * 1024),
        /** How long a page's ticket to open the fallback's WebSocket is valid. */
        ticketTtlMs: z.number().int().min(1000).max(60_000).default(10_000),
        /** Whether the door's sound goes with the picture (an Opus track beside the H.264 one). */
        audio: z.boolean().default(true),
        /**
         * How far the sound may run from the picture's clock (read from when each arrived) before it is
         * placed at the picture's time again: lip sync stays within it.
         */
        maxAudioSkewMs: z.number().int().min(20).max(1000).default(80),
      })
      .prefault({}),
  })
  .superRefine(checkLiveFields)

/** Validated live config of the collector. */
export type CollectorLiveConfig = z.output<typeof collectorLiveConfigSchema>

/** Limits between fields, each reported on the field to change. */
function checkLiveFields(
  live: {
    maxSessionMs: number
    iceServers: readonly unknown[]
    turn?: { ttlMs: number; urls: readonly string[] } | undefined
  },
  ctx: z.RefinementCtx,
): void {
  if (!live.turn) return
  if (live.turn.ttlMs < live.maxSessionMs)
    ctx.addIssue({
      code: 'custom',
      path: ['turn', 'ttlMs'],
      message: `expected at least live.maxSessionMs (${live.maxSessionMs}): credentials must outlast a session`,
    })
  // live.start carries at most 4 ICE servers (shared/protocol).
  if (live.iceServers.length + live.turn.urls.length > 4)
    ctx.addIssue({
      code: 'custom',
      path: ['turn', 'urls'],
      message: 'expected at most 4 ICE servers with live.iceServers',
    })
}

/** Whether a homeowner holds a role of the live config (owner > viewer). */
export function isAllowed(
  principal: { readonly role: 'owner' | 'viewer' },
  role: 'owner' | 'viewer',
): boolean {
  return role === 'viewer' || principal.role === 'owner'
}
