import { Counter } from 'prom-client'
import type { LeaseKeeper } from '../fleet/lease-keeper.js'
import { retentionFromDays, sweepRetentionOnce } from '../store/retention-sweep.js'
import type { CollectorExtension, ExtensionContext } from './extension.js'

/**
 * Deletes what is older than its class's retention (events, clip records, clip files) at start and then every
 * interval. In a fleet the sweep runs once per fleet, on the node that holds the `retention` lease in
 * PostgreSQL, which also deletes the outbox's finished deliveries; the other nodes skip their turn, and
 * every node removes its local copies of clips that are gone.
 */
export class RetentionExtension implements CollectorExtension {
  readonly name = 'retention'
  #timer: NodeJS.Timeout | undefined
  #sweep: Promise<void> | undefined
  #lease: LeaseKeeper | undefined

  async start(ctx: ExtensionContext): Promise<void> {
    const retention = retentionFromDays(ctx.config.retentionDays)
    const passes = new Counter({
      name: 'doorbell_collector_retention_passes_total',
      help: 'Retention sweep turns: ran, or skipped (another fleet node holds the retention lease)',
      labelNames: ['outcome'] as const,
      registers: [ctx.metrics],
    })
    const { fleet } = ctx.stores
    if (fleet) {
      const { startFleetLease } = await import('../fleet/fleet-lease.js')
      this.#lease = await startFleetLease(fleet, {
        name: 'retention',
        ttlMs: ctx.config.postgres.leaseTtlMs,
        onChange: (isLeader) => ctx.bus.emit({ kind: 'lease', name: 'retention', isLeader }),
        onError: (err) => ctx.bus.emit({ kind: 'task_failed', task: 'retention lease', err }),
      })
    }
    const sweep = async (): Promise<void> => {
      const counts = await sweepRetentionOnce(ctx.stores.events, ctx.stores.clips, ctx.now(), retention)
      if (counts.deletedCount > 0 || counts.deletedClipCount > 0)
        ctx.bus.emit({ kind: 'retention', ...counts })
      if (fleet) {
        const { sweepFinishedDeliveries } = await import('../fleet/fleet-lease.js')
        await sweepFinishedDeliveries(fleet, ctx.config.postgres.finishedDeliveriesKeepMs)
      }
    }
    const { clips } = ctx.stores
    const run = (): void => {
      // Local copies of clips another node swept (a fleet's clip store keeps bodies in PostgreSQL).
      if (clips.pruneCopies) ctx.track('clip copies', clips.pruneCopies())
      if (this.#lease && !this.#lease.isLeader) {
        passes.inc({ outcome: 'skipped' })
        return
      }
      passes.inc({ outcome: 'ran' })
      this.#sweep = sweep()
      ctx.track('retention', this.#sweep)
    }
    this.#timer = setInterval(run, ctx.config.retentionSweepIntervalMs)
    this.#timer.unref()
    run()
  }

  /** Stops the timer, waits for a sweep in progress (the store is not closed under it), gives up the lease. */
  async stop(): Promise<void> {
    clearInterval(this.#timer)
    await this.#sweep?.catch(() => undefined)
    await this.#lease?.stop()
  }
}
