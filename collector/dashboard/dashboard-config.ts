import { z } from 'zod'

const MiB = 1024 * 1024

/** The dashboard part of the collector config, under `dashboard:` (docs/dashboard.md). */
export const dashboardConfigSchema = z.strictObject({
  /** The timeline's snapshot thumbnails, made by the collector so a phone does not fetch full snapshots. */
  thumbnails: z
    .strictObject({
      /** Longest side of a thumbnail; the aspect ratio is kept and a smaller snapshot is not enlarged. */
      maxSidePx: z.number().int().min(64).max(1280).default(320),
      /** JPEG quality of a thumbnail, 1 (worst) to 100. */
      quality: z.number().int().min(20).max(95).default(70),
      /** Largest snapshot (width x height) decoded; a bigger one is refused before it takes memory. */
      maxInputPixels: z
        .number()
        .int()
        .min(64 * 64)
        .default(4096 * 4096),
      /** Thumbnails kept in memory, in bytes; the least recently used go first. 0 keeps none. */
      cacheBytes: z
        .number()
        .int()
        .min(0)
        .default(16 * MiB),
      /**
       * Thumbnails made at once: each holds a libuv thread, which Level's writes share, so one at a time
       * keeps a timeline page from delaying a press's commit.
       */
      maxRunning: z.number().int().min(1).max(4).default(1),
      /** Thumbnails waiting for their turn; beyond this a request gets 503 with Retry-After. */
      maxWaiting: z.number().int().min(0).default(64),
    })
    .prefault({}),
})

/** The validated dashboard config. */
export type DashboardConfig = z.output<typeof dashboardConfigSchema>
