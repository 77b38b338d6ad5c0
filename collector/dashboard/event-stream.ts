import type { ServerResponse } from 'node:http'
import type { StoredEvent } from '../store/event-store.js'
import { summarizeEvent } from './event-summary.js'

/** Types pushed live to the timeline (readings and health stay in the charts). */
const liveTypes = new Set(['button.press', 'motion', 'snapshot', 'clip.manifest'])

/**
 * Server-Sent Events hub (issue 6): each stored press, motion, snapshot or clip manifest is written to every
 * open dashboard stream as `event: stored`. A comment every keepAliveMs keeps proxies from closing it.
 * Bounded: beyond maxClients the oldest stream is closed.
 */
export class SseEventHub {
  readonly #clients = new Set<ServerResponse>()
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

  /** Takes over a response as an event stream until the client goes away. */
  add(res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    })
    res.write('retry: 3000\n: connected\n\n')
    if (this.#clients.size >= this.#maxClients) {
      const oldest = this.#clients.values().next().value
      oldest?.end()
      if (oldest) this.#clients.delete(oldest)
    }
    this.#clients.add(res)
    res.on('close', () => this.#clients.delete(res))
  }

  /** Called with each committed batch (the collector's onStored hook). */
  onStored(events: readonly StoredEvent[]): void {
    for (const event of events) {
      if (!liveTypes.has(event.type)) continue
      this.#write(`event: stored\nid: ${event.id}\ndata: ${JSON.stringify(summarizeEvent(event))}\n\n`)
    }
  }

  /** Ends every stream (shutdown). */
  close(): void {
    clearInterval(this.#timer)
    for (const res of this.#clients) res.end()
    this.#clients.clear()
  }

  #write(text: string): void {
    for (const res of this.#clients) res.write(text)
  }
}
