import { EventEmitter } from 'node:events'
import type { ServerResponse } from 'node:http'
import { describe, expect, it } from 'vitest'
import { SseEventHub, type StreamEviction } from '../../../collector/dashboard/event-stream.js'

/** A response that records whether the hub ended it. */
class FakeResponse extends EventEmitter {
  isEnded = false
  writeHead(): this {
    return this
  }
  write(): boolean {
    return true
  }
  end(): void {
    this.isEnded = true
    this.emit('close')
  }
}

describe('SseEventHub caps', () => {
  it("past the total, closes the oldest stream of the user holding the most, not another user's", () => {
    const evicted: StreamEviction[] = []
    const hub = new SseEventHub({
      limits: { perSession: 2, perUser: 4, total: 5 },
      onEvicted: (reason) => evicted.push(reason),
    })
    const open = (session: string, user: string): FakeResponse => {
      const res = new FakeResponse()
      hub.add(res as unknown as ServerResponse, session, user)
      return res
    }
    const alice = open('a1', 'alice')
    const bobs = [open('b1', 'bob'), open('b1', 'bob'), open('b2', 'bob'), open('b2', 'bob')]
    // A sixth stream: five are open, bob holds four of them.
    const carol = open('c1', 'carol')
    expect(evicted).toEqual(['total'])
    expect(bobs.map((r) => r.isEnded)).toEqual([true, false, false, false])
    expect(alice.isEnded).toBe(false)
    expect(carol.isEnded).toBe(false)
    // A third stream of one session closes that session's oldest.
    open('b2', 'bob')
    expect(evicted).toEqual(['total', 'session'])
    expect(bobs[2]?.isEnded).toBe(true)
    expect(hub.clientCount).toBe(5)
    hub.close()
  })
})
