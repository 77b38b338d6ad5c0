import type { ServerResponse } from 'node:http'
import type { StoredEvent } from '../store/event-store.js'
import { summarizeEvent } from './event-summary.js'

/** Types pushed live to the timeline (readings and health stay in the charts). */
const liveTypes = new Set([
  'button.press',
  'motion',
  'snapshot',
  'clip.manifest',
  'live.started',
  'live.ended',
])

/** True for the events the live timeline shows (a fleet announces only these to its other nodes). */
export function isLiveTimelineEvent(event: StoredEvent): boolean {
  return liveTypes.has(event.type)
}

/**
 * Server-Sent Events hub: each stored press, motion, snapshot or clip manifest is written to every
 * open dashboard stream as `event: stored`. A comment every keepAliveMs keeps proxies from closing it.
 * Bounded: beyond maxClients the oldest stream is closed.
 */
export class SseEventHub {
  /** Open streams and the session each belongs to (logout ends that session's streams). */
  readonly #clients = new Map<ServerResponse, string>()
  readonly #timer: NodeJS.Timeout
  readonly #maxClients: number

  constructor(options: { keepAliveMs?: number; maxClients?: number } = {}) {
    this.#maxClients = options.maxClients ?? 100
    this.#timer = setInterval(() => this.#write(': keep-alive\n\n'), options.keepAliveMs ?? 25_000)
    this.#timer.unref()
  }

  /** Open streams. */
  get clientCount(): number {
    return this.#clients.size
  }

  /** Takes over a response as an event stream until the client goes away or its session ends. */
  add(res: ServerResponse, sessionKey: string): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    })
    res.write('retry: 3000\n: connected\n\n')
    if (this.#clients.size >= this.#maxClients) {
      const oldest = this.#clients.keys().next().value
      oldest?.end()
      if (oldest) this.#clients.delete(oldest)
    }
    this.#clients.set(res, sessionKey)
    res.on('close', () => this.#clients.delete(res))
  }

  /** Called with the events of each commit (the bus's `stored` event). */
  onStored(events: readonly StoredEvent[]): void {
    for (const event of events) {
      if (!liveTypes.has(event.type)) continue
      this.#write(`event: stored\nid: ${event.id}\ndata: ${JSON.stringify(summarizeEvent(event))}\n\n`)
    }
  }

  /**
   * Tells every stream that events may have been stored without being pushed (a fleet's listener was
   * cut off): `event: resync`, on which the dashboard reads its first page again.
   */
  resync(): void {
    this.#write('event: resync\ndata: {}\n\n')
  }

  /** Ends the streams of one session (logout). */
  endSession(sessionKey: string): void {
    for (const [res, key] of this.#clients) {
      if (key !== sessionKey) continue
      res.end()
      this.#clients.delete(res)
    }
  }

  /** Ends every stream (shutdown). */
  close(): void {
    clearInterval(this.#timer)
    for (const res of this.#clients.keys()) res.end()
    this.#clients.clear()
  }

  #write(text: string): void {
    for (const res of this.#clients.keys()) res.write(text)
  }
}
