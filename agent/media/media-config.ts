import { z } from 'zod'
import { maxChunkDataBytes, maxSnapshotImageBytes } from '../../shared/protocol/limits.js'
import { microphoneConfigSchema } from '../audio/microphone-config.js'

const KiB = 1024
const MiB = 1024 * KiB

/**
 * The media part of the agent config, plugged in under `media:`. Every field has a default,
 * so `mediaConfigSchema.parse({})` is a working simulated-free Pi setup. docs/media.md explains each.
 */
export const mediaConfigSchema = z
  .strictObject({
    /** Whether the camera runs at all. */
    enabled: z.boolean().default(true),
    /**
     * `rpicam`: rpicam-vid piped into ffmpeg (the CSI camera); `v4l2`: a USB webcam;
     * `simulated`: ffmpeg's lavfi testsrc2 (+ a sine tone as audio).
     */
    source: z.enum(['rpicam', 'v4l2', 'simulated']).default('rpicam'),
    widthPx: z.number().int().min(16).max(4096).default(1280),
    heightPx: z.number().int().min(16).max(4096).default(720),
    frameRate: z.number().int().min(1).max(60).default(15),
    /** x264 target bitrate for sources encoded by ffmpeg (v4l2, simulated). */
    videoBitrateKbps: z.number().int().min(50).max(20_000).default(1500),
    /** rpicam-vid encoder: `libav` (software; Pi 5 has no H.264 block) or `h264` (hardware, Pi 4 and older). */
    rpicamCodec: z.enum(['libav', 'h264']).default('libav'),
    v4l2Device: z.string().min(1).default('/dev/video0'),
    /** Pixel format asked of a USB webcam, e.g. `mjpeg` (most reach 720p at full rate only in MJPEG). */
    v4l2InputFormat: z.string().min(1).optional(),
    /** Record an audio track into clips. For real sources it comes from `audioDevice` via ALSA. */
    hasAudio: z.boolean().default(false),
    /** ALSA device ffmpeg records clip audio from; use a dsnoop device to share it with the microphone. */
    audioDevice: z.string().min(1).default('dsnoop:1'),
    audioSampleRateHz: z.number().int().min(8000).max(48_000).default(16_000),
    /** Programs, for systems where they are not on PATH. */
    ffmpegPath: z.string().min(1).default('ffmpeg'),
    ffprobePath: z.string().min(1).default('ffprobe'),
    rpicamVidPath: z.string().min(1).default('rpicam-vid'),
    /**
     * Nice value (0-19) of the camera, clip and snapshot processes, so video work yields the CPU to the
     * agent's event loop and a press never waits behind it; 0 runs them at the agent's priority.
     */
    childNiceness: z.number().int().min(0).max(19).default(10),
    ring: z
      .strictObject({
        /** Folder of the rolling segments; tmpfs (/dev/shm) spares the SD card. Emptied at start and stop. */
        dir: z.string().min(1).default('/dev/shm/doorbell-ring'),
        /** Length of one segment; a keyframe starts each, so it is also the GOP length. */
        segmentMs: z.number().int().min(250).max(10_000).default(1000),
        /** Bounds of the ring; segments pinned by a clip being assembled are kept beyond them. */
        maxSegments: z.number().int().min(3).max(600).default(30),
        maxBytes: z
          .number()
          .int()
          .min(256 * KiB)
          .default(64 * MiB),
        /** How often the segment list is read. */
        pollMs: z.number().int().min(20).max(2000).default(100),
      })
      .prefault({}),
    /** Seconds of video before the trigger (press or motion) that a clip starts with. */
    prerollMs: z.number().int().nonnegative().max(120_000).default(5000),
    /** Seconds of video after the trigger. */
    postrollMs: z.number().int().nonnegative().max(300_000).default(10_000),
    snapshot: z
      .strictObject({
        /** Largest JPEG; the protocol limit is the ceiling. */
        maxBytes: z
          .number()
          .int()
          .min(4 * KiB)
          .max(maxSnapshotImageBytes)
          .default(maxSnapshotImageBytes),
        /** ffmpeg mjpeg quality scale, 2 (best) to 31; raised (and then the size lowered) until it fits. */
        quality: z.number().int().min(2).max(31).default(4),
      })
      .prefault({}),
    clips: z
      .strictObject({
        /** Folder of finished clips and their upload state; relative to the agent's data folder. */
        dir: z.string().min(1).default('clips'),
        /** Soft bound: beyond it, uploaded clips are evicted, oldest first. */
        maxBytes: z
          .number()
          .int()
          .min(MiB)
          .default(512 * MiB),
        /** Hard bound: beyond it, the oldest clip is evicted even if its upload has not finished. */
        hardMaxBytes: z
          .number()
          .int()
          .min(MiB)
          .default(1024 * MiB),
      })
      .prefault({}),
    /**
     * Size of one upload chunk (8-256 KiB); the last chunk is shorter. An MQTT packet cannot be
     * interrupted, so a press published during a chunk waits for the rest of it: 16 KiB is about 150 ms
     * on a 1 Mbit/s uplink (bench/media-priority.ts). Larger chunks mean fewer state writes per clip.
     */
    chunkBytes: z
      .number()
      .int()
      .min(8 * KiB)
      .max(maxChunkDataBytes)
      .default(16 * KiB),
    /** Pacing of the lazy clip upload: what may sit unacknowledged in front of a press. */
    upload: z
      .strictObject({
        /** Chunks published and not yet acknowledged. */
        maxInFlightChunks: z.number().int().min(1).max(4096).default(4),
        /** Bytes of chunks published and not yet acknowledged; one chunk may always go. */
        maxInFlightBytes: z
          .number()
          .int()
          .min(1)
          .default(16 * KiB),
        /**
         * At most this many chunks a second: the collector's per-device budget (200/s by default) is
         * shared with presses, so a clip on a fast link must leave most of it free.
         */
        maxChunksPerS: z.number().positive().max(1000).default(50),
        /** No chunk is handed to the MQTT client while its socket buffers more than this. */
        maxQueuedBytes: z
          .number()
          .int()
          .min(0)
          .default(4 * KiB),
      })
      .prefault({}),
    microphone: microphoneConfigSchema.prefault({}),
  })
  .refine((c) => c.clips.hardMaxBytes >= c.clips.maxBytes, {
    message: 'clips.hardMaxBytes must be at least clips.maxBytes',
    path: ['clips', 'hardMaxBytes'],
  })
  // Segments after the trigger are pinned as they arrive, so the ring needs to hold only the pre-roll.
  .refine((c) => c.ring.maxSegments * c.ring.segmentMs >= c.prerollMs + 2 * c.ring.segmentMs, {
    message: 'the ring (maxSegments * segmentMs) must hold prerollMs plus two segments',
    path: ['ring', 'maxSegments'],
  })

/** Validated media config. */
export type MediaConfig = z.output<typeof mediaConfigSchema>
