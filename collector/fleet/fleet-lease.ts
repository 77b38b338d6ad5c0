import { PostgresAlertOutbox } from '../postgres/postgres-alert-outbox.js'
import { PostgresLease } from '../postgres/postgres-lease.js'
import type { FleetHandles } from './collector-engines.js'
import { LeaseKeeper } from './lease-keeper.js'

/** Options of a once-per-fleet task's lease. */
export interface FleetLeaseOptions {
  /** The lease's name: one holder per name in the whole fleet. */
  readonly name: string
  readonly ttlMs: number
  readonly onChange?: (isLeader: boolean) => void
  readonly onError?: (err: unknown) => void
}

/**
 * Starts keeping a named lease for this node (PostgresLease under a LeaseKeeper); resolves after the first
 * answer, so isLeader is already true or false. Loaded only in a fleet.
 */
export async function startFleetLease(fleet: FleetHandles, options: FleetLeaseOptions): Promise<LeaseKeeper> {
  const lease = new PostgresLease(fleet.db, {
    name: options.name,
    holder: fleet.nodeId,
    ttlMs: options.ttlMs,
  })
  const keeper = new LeaseKeeper({
    lease,
    ttlMs: options.ttlMs,
    ...(options.onChange ? { onChange: options.onChange } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  })
  await keeper.start()
  return keeper
}

/** Deletes deliveries of the fleet's outbox that finished (sent or dead) longer than keepMs ago. */
export function sweepFinishedDeliveries(fleet: FleetHandles, keepMs: number): Promise<number> {
  return PostgresAlertOutbox.sweepFinished(fleet.db, keepMs)
}
