import { describe, expect, it } from 'vitest'
import type { OutboxStore, StoredEvent } from '../../../agent/outbox/outbox-store.js'

/** A store factory: `reopen` returns a new store over the same data (for Level: the same folder). */
export interface StoreHarness {
  create(): Promise<OutboxStore>
  reopen?(): Promise<OutboxStore>
}

function event(eventClass: StoredEvent['eventClass'], id: string, seq: number): StoredEvent {
  return { eventClass, id, seq, body: JSON.stringify({ id, seq, pad: 'x'.repeat(seq) }) }
}

async function collect(store: OutboxStore) {
  const out = []
  for await (const e of store.scan()) out.push(e)
  return out
}

/** The contract every OutboxStore passes (the aedes-persistence abstract-suite pattern). */
export function outboxStoreContract(name: string, harness: StoreHarness): void {
  describe(`OutboxStore contract: ${name}`, () => {
    it('scans in send order: high, medium, low, oldest id first', async () => {
      const store = await harness.create()
      await store.write(
        {
          put: [
            event('low', '01B', 1),
            event('medium', '01D', 2),
            event('high', '01C', 3),
            event('medium', '01A', 4),
          ],
        },
        { sync: false },
      )
      const scanned = await collect(store)
      expect(scanned.map((e) => `${e.eventClass}:${e.id}`)).toEqual([
        'high:01C',
        'medium:01A',
        'medium:01D',
        'low:01B',
      ])
      expect(scanned.map((e) => e.seq)).toEqual([3, 4, 2, 1])
      await store.close()
    })

    it('reports each body size in bytes', async () => {
      const store = await harness.create()
      const e = event('medium', '01A', 5)
      await store.write({ put: [e] }, { sync: false })
      const [scanned] = await collect(store)
      expect(scanned?.bytes).toBe(Buffer.byteLength(e.body))
      await store.close()
    })

    it('reports the envelope type a body names, and none for a body that names no known type', async () => {
      const store = await harness.create()
      const press = {
        eventClass: 'high' as const,
        id: '01A',
        seq: 1,
        body: '{"seq":1,"type":"button.press"}',
      }
      const odd = { eventClass: 'high' as const, id: '01B', seq: 2, body: '{"seq":2,"type":"no.such.type"}' }
      await store.write({ put: [press, odd] }, { sync: false })
      expect((await collect(store)).map((e) => e.type)).toEqual(['button.press', undefined])
      await store.close()
    })

    it('reads bodies back and undefined for missing ids', async () => {
      const store = await harness.create()
      const e = event('high', '01A', 1)
      await store.write({ put: [e] }, { sync: true })
      expect(
        await store.read([
          { eventClass: 'high', id: '01A' },
          { eventClass: 'high', id: '01Z' },
        ]),
      ).toEqual([e.body, undefined])
      await store.close()
    })

    it('deletes and records lastSeq in the same write', async () => {
      const store = await harness.create()
      await store.write(
        { put: [event('high', '01A', 1), event('high', '01B', 2)], lastSeq: 2 },
        { sync: true },
      )
      await store.write({ del: [{ eventClass: 'high', id: '01A' }], lastSeq: 7 }, { sync: false })
      expect((await collect(store)).map((e) => e.id)).toEqual(['01B'])
      expect(await store.readLastSeq()).toBe(7)
      await store.close()
    })

    it('starts with lastSeq 0 and nothing stored', async () => {
      const store = await harness.create()
      expect(await store.readLastSeq()).toBe(0)
      expect(await collect(store)).toEqual([])
      await store.close()
    })

    it('ignores deletes of ids it does not hold', async () => {
      const store = await harness.create()
      await store.write({ del: [{ eventClass: 'low', id: 'nope' }] }, { sync: false })
      expect(await collect(store)).toEqual([])
      await store.close()
    })

    if (harness.reopen) {
      const reopen = harness.reopen
      it('keeps events and lastSeq across a reopen', async () => {
        const store = await harness.create()
        await store.write({ put: [event('high', '01A', 3)], lastSeq: 3 }, { sync: true })
        await store.close()
        const again = await reopen()
        expect((await collect(again)).map((e) => e.id)).toEqual(['01A'])
        expect(await again.readLastSeq()).toBe(3)
        await again.close()
      })
    }
  })
}
