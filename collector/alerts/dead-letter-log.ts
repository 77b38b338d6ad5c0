import type { Alert } from './alert.js'

/** A delivery that failed for good, kept so an operator can see (and replay) what never arrived. */
export interface DeadLetter {
  readonly atMs: number
  readonly channel: string
  readonly recipient: string
  readonly attempts: number
  readonly error: string
  readonly alert: Alert
}

/**
 * Where dead letters are kept. Every implementation passes
 * test/collector/store/contracts/dead-letter-log.contract.ts.
 */
export interface DeadLetterLog {
  /** Records one dead letter durably. */
  append(letter: DeadLetter): Promise<void>
  /** Every dead letter recorded, oldest first. */
  list(): Promise<DeadLetter[]>
}
