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

/** Caps on open live streams (limits.liveStreams). */
export interface LiveStreamLimits {
  /** Streams one dashboard session (one browser) may hold. */
  readonly perSession: number
  /** Streams one homeowner may hold over all their sessions. */
  readonly perUser: number
  /** Streams of everyone together. */
  readonly total: number
}

/** Which cap closed a stream to make room for a new one. */
export type StreamEviction = 'session' | 'user' | 'total'

interface Stream {
  readonly sessionKey: string
  readonly user: string
}

/**
 * Server-Sent Events hub: each stored press, motion, snapshot or clip manifest is written to every
 * open dashboard stream as `event: stored`. A comment every keepAliveMs keeps proxies from closing it.
 * Bounded per session, per user and in total. A new stream past a cap closes the oldest stream of that
 * session, of that user, or (past the total) of whoever holds the most, so one browser opening a hundred
 * streams closes its own, never the owner's live timeline.
 */
export class SseEventHub {
  /** Open streams, oldest first, with the session and user each belongs to (logout ends a session's). */
  readonly #clients = new Map<ServerResponse, Stream>()
  readonly #timer: NodeJS.Timeout
  readonly #limits: LiveStreamLimits
  readonly #onEvicted: (reason: StreamEviction) => void

  constructor(
    options: {
      keepAliveMs?: number
      limits?: LiveStreamLimits
      onEvicted?: (reason: StreamEviction) => void
    } = {},
  ) {
    this.#limits = options.limits ?? { perSession: 4, perUser: 10, total: 100 }
    this.#onEvicted = options.onEvicted ?? (() => undefined)
    this.#timer = setInterval(() => this.#write(': keep-alive\n\n'), options.keepAliveMs ?? 25_000)
    this.#timer.unref()
  }

  /** Open streams. */
  get clientCount(): number {
    return this.#clients.size
  }

  /** Takes over a response as an event stream until the client goes away or its session ends. */
  add(res: ServerResponse, sessionKey: string, user: string): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    })
    res.write('retry: 3000\n: connected\n\n')
    this.#makeRoom(sessionKey, user)
    this.#clients.set(res, { sessionKey, user })
    res.on('close', () => this.#clients.delete(res))
  }

  #makeRoom(sessionKey: string, user: string): void {
    const streams = [...this.#clients]
    const ofSession = streams.filter(([, s]) => s.sessionKey === sessionKey)
    if (ofSession.length >= this.#limits.perSession) {
      this.#evict(ofSession[0]?.[0], 'session')
      return
    }
    const ofUser = streams.filter(([, s]) => s.user === user)
    if (ofUser.length >= this.#limits.perUser) {
      this.#evict(ofUser[0]?.[0], 'user')
      return
    }
    if (streams.length < this.#limits.total) return
    const counts = new Map<string, number>()
    for (const [, s] of streams) counts.set(s.user, (counts.get(s.user) ?? 0) + 1)
    const [busiest] = [...counts].reduce((a, b) => (b[1] > a[1] ? b : a))
    this.#evict(streams.find(([, s]) => s.user === busiest)?.[0], 'total')
  }

  #evict(res: ServerResponse | undefined, reason: StreamEviction): void {
    if (!res) return
    res.end()
    this.#clients.delete(res)
    this.#onEvicted(reason)
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
    for (const [res, stream] of this.#clients) {
      if (stream.sessionKey !== sessionKey) continue
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
