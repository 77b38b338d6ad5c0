import type { Alert } from './alert.js'
import { type Channel, DeliveryError, type Recipient } from './channel.js'
import type { DeadLetterLog } from './dead-letter-log.js'

/** What the lanes report, for metrics and main.ts's log. */
export type DeliveryOutcome =
  | {
      readonly kind: 'sent'
      readonly channel: string
      readonly recipient: Recipient
      readonly alert: Alert
      readonly attempt: number
      readonly atMs: number
    }
  | {
      readonly kind: 'retry'
      readonly channel: string
      readonly alert: Alert
      readonly attempt: number
      readonly delayMs: number
      readonly err: unknown
    }
  | {
      readonly kind: 'dead_letter'
      readonly channel: string
      readonly recipient: Recipient
      readonly alert: Alert
      readonly attempt: number
      readonly err: unknown
    }

/** Retry policy: attempts (first included) and exponential backoff with full jitter, capped. */
export interface RetryPolicy {
  readonly attempts: number
  readonly initialMs: number
  readonly maxMs: number
  readonly queueLimit: number
}

/** Collaborators of the lanes. */
export interface DeliveryLanesDeps {
  readonly channels: readonly Channel[]
  readonly retry: RetryPolicy
  readonly deadLetters: DeadLetterLog
  readonly onOutcome: (outcome: DeliveryOutcome) => void
  readonly now?: () => number
  /** Deliveries in flight per channel and recipient. */
  readonly concurrency?: number
  readonly random?: () => number
}

interface Job {
  readonly alert: Alert
  readonly recipient: Recipient
  attempt: number
}

class Lane {
  readonly queue: Job[] = []
  inFlight = 0
  /** Jobs waiting for their retry, by timer. */
  readonly timers = new Map<NodeJS.Timeout, Job>()
  constructor(readonly channel: Channel) {}
}

/**
 * One lane per channel and recipient: a bounded queue, a few deliveries in flight, retries on a timer so a
 * failing delivery waits beside the queue rather than in front of it. A slow or failing channel therefore
 * delays only itself, and one user's slow or dead endpoints (a viewer's fifty stale browsers) delay only
 * that user, never the owner's press on the same channel. Recipients are the homeowners and the
 * operator, a handful, so the lanes stay few. What fails every attempt, or is not retryable, goes to the
 * dead-letter log.
 */
export class DeliveryLanes {
  readonly #deps: DeliveryLanesDeps
  readonly #channels = new Map<string, Channel>()
  readonly #lanes = new Map<string, Lane>()
  readonly #concurrency: number
  #idle: (() => void)[] = []
  #isClosed = false

  constructor(deps: DeliveryLanesDeps) {
    this.#deps = deps
    this.#concurrency = deps.concurrency ?? 4
    for (const channel of deps.channels) this.#channels.set(channel.name, channel)
  }

  /** Names of the channels with a lane. */
  get channelNames(): string[] {
    return [...this.#channels.keys()]
  }

  /** Queues one delivery; returns at once. False when the channel does not exist. */
  enqueue(channelName: string, alert: Alert, recipient: Recipient): boolean {
    const channel = this.#channels.get(channelName)
    if (!channel || this.#isClosed) return false
    const key = `${channelName}\u0000${recipient.isOperator ? '\u0000operator' : recipient.name}`
    let lane = this.#lanes.get(key)
    if (!lane) {
      lane = new Lane(channel)
      this.#lanes.set(key, lane)
    }
    if (lane.queue.length >= this.#deps.retry.queueLimit) {
      const dropped = lane.queue.shift()
      if (dropped) void this.#deadLetter(lane, dropped, new Error('queue full'))
    }
    lane.queue.push({ alert, recipient, attempt: 1 })
    this.#pump(lane)
    return true
  }

  /** Resolves when nothing is queued, in flight or waiting for a retry. */
  async whenIdle(): Promise<void> {
    while ([...this.#lanes.values()].some((l) => l.queue.length > 0 || l.inFlight > 0 || l.timers.size > 0)) {
      await new Promise<void>((resolve) => this.#idle.push(resolve))
    }
  }

  /** Stops retries; what is queued or waiting for a retry is dead-lettered. Closes every channel. */
  async close(): Promise<void> {
    this.#isClosed = true
    const pending: Promise<void>[] = []
    for (const lane of this.#lanes.values()) {
      for (const [timer, job] of lane.timers) {
        clearTimeout(timer)
        pending.push(this.#deadLetter(lane, job, new Error('collector stopped before the retry')))
      }
      lane.timers.clear()
      for (const job of lane.queue.splice(0)) {
        pending.push(this.#deadLetter(lane, job, new Error('collector stopped before delivery')))
      }
    }
    await Promise.allSettled(pending)
    await Promise.allSettled([...this.#channels.values()].map((channel) => channel.close?.()))
  }

  /** The delay before attempt n+1: random in [0, min(max, initial * 2^(n-1))] ("full jitter"). */
  backoffMs(attempt: number): number {
    const { initialMs, maxMs } = this.#deps.retry
    const ceiling = Math.min(maxMs, initialMs * 2 ** (attempt - 1))
    return Math.round((this.#deps.random ?? Math.random)() * ceiling)
  }

  #pump(lane: Lane): void {
    while (!this.#isClosed && lane.inFlight < this.#concurrency && lane.queue.length > 0) {
      const job = lane.queue.shift() as Job
      lane.inFlight += 1
      void this.#deliver(lane, job).finally(() => {
        lane.inFlight -= 1
        this.#pump(lane)
        this.#wakeIdle()
      })
    }
  }

  async #deliver(lane: Lane, job: Job): Promise<void> {
    const now = this.#deps.now ?? Date.now
    try {
      await lane.channel.send(job.alert, job.recipient)
      this.#report({
        kind: 'sent',
        channel: lane.channel.name,
        recipient: job.recipient,
        alert: job.alert,
        attempt: job.attempt,
        atMs: now(),
      })
    } catch (err) {
      const isRetryable = !(err instanceof DeliveryError) || err.isRetryable
      if (!isRetryable || job.attempt >= this.#deps.retry.attempts || this.#isClosed) {
        await this.#deadLetter(lane, job, err)
        return
      }
      const delayMs = this.backoffMs(job.attempt)
      this.#report({
        kind: 'retry',
        channel: lane.channel.name,
        alert: job.alert,
        attempt: job.attempt,
        delayMs,
        err,
      })
      const timer = setTimeout(() => {
        lane.timers.delete(timer)
        job.attempt += 1
        lane.queue.unshift(job)
        this.#pump(lane)
        this.#wakeIdle()
      }, delayMs)
      timer.unref()
      lane.timers.set(timer, job)
    }
  }

  async #deadLetter(lane: Lane, job: Job, err: unknown): Promise<void> {
    try {
      await this.#deps.deadLetters.append({
        atMs: (this.#deps.now ?? Date.now)(),
        channel: lane.channel.name,
        recipient: job.recipient.name,
        attempts: job.attempt,
        error: err instanceof Error ? err.message : String(err),
        alert: job.alert,
      })
    } catch {
      // Reported through the outcome below; a full disk must not stop the lane.
    }
    // Reported after the record is written, so whoever sees the outcome also finds the record.
    this.#report({
      kind: 'dead_letter',
      channel: lane.channel.name,
      recipient: job.recipient,
      alert: job.alert,
      attempt: job.attempt,
      err,
    })
  }

  #report(outcome: DeliveryOutcome): void {
    try {
      this.#deps.onOutcome(outcome)
    } catch {
      // A faulty observer must not stop a lane.
    }
  }

  #wakeIdle(): void {
    const idle = this.#idle
    this.#idle = []
    for (const resolve of idle) resolve()
  }
}
