import { retentionFromDays, sweepRetentionOnce } from '../store/retention-sweep.js'
import type { CollectorExtension, ExtensionContext } from './extension.js'

/** Deletes what is older than its class's retention (events, clip records, clip files) at start and then every interval. */
export class RetentionExtension implements CollectorExtension {
  readonly name = 'retention'
  #timer: NodeJS.Timeout | undefined
  #sweep: Promise<void> | undefined

  start(ctx: ExtensionContext): void {
    const retention = retentionFromDays(ctx.config.retentionDays)
    const sweep = async (): Promise<void> => {
      const counts = await sweepRetentionOnce(ctx.stores.events, ctx.stores.clips, ctx.now(), retention)
      if (counts.deletedCount > 0 || counts.deletedClipCount > 0)
        ctx.bus.emit({ kind: 'retention', ...counts })
    }
    const run = (): void => {
      this.#sweep = sweep()
      ctx.track('retention', this.#sweep)
    }
    this.#timer = setInterval(run, ctx.config.retentionSweepIntervalMs)
    this.#timer.unref()
    run()
  }

  /** Stops the timer and waits for a sweep in progress, so the store is not closed under it. */
  async stop(): Promise<void> {
    clearInterval(this.#timer)
    await this.#sweep?.catch(() => undefined)
  }
}
