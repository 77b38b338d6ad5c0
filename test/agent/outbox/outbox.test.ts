import { describe, expect, it } from 'vitest'
import { MemoryOutboxStore } from '../../../agent/outbox/memory-outbox-store.js'
import { Outbox } from '../../../agent/outbox/outbox.js'
import type { OutboxStore, OutboxWrite } from '../../../agent/outbox/outbox-store.js'

class RecordingStore extends MemoryOutboxStore {
  readonly writes: Array<{ change: OutboxWrite; sync: boolean }> = []
  override async write(change: OutboxWrite, options: { readonly sync: boolean }): Promise<void> {
    this.writes.push({ change, sync: options.sync })
    await super.write(change, options)
  }
}

/** fsync is slow and a write without it is not, as on a disk; records the stored seqs after each write. */
class SlowFsyncStore extends MemoryOutboxStore {
  readonly seqsAfterEachWrite: number[][] = []
  override async write(change: OutboxWrite, options: { readonly sync: boolean }): Promise<void> {
    if (options.sync) await new Promise((resolve) => setTimeout(resolve, 30))
    await super.write(change, options)
    const seqs: number[] = []
    for await (const event of this.scan()) seqs.push(event.seq)
    this.seqsAfterEachWrite.push(seqs.sort((a, b) => a - b))
  }
}

const t0 = Date.UTC(2026, 0, 1)
const temp = (celsius: number, i = 0) => ({
  type: 'temperature' as const,
  payload: { celsius, sensor: 's' },
  capturedAtMs: t0 + i,
})
const press = (i = 0) => ({
  type: 'button.press' as const,
  payload: { button: 'front' },
  capturedAtMs: t0 + i,
})

async function openOutbox(store: OutboxStore = new MemoryOutboxStore(), maxBytes = 1_000_000) {
  const outbox = new Outbox({ store, deviceId: 'front-door', maxBytes })
  await outbox.open()
  return outbox
}

describe('Outbox', () => {
  it('numbers events 1, 2, 3 in record order', async () => {
    const outbox = await openOutbox()
    const a = await outbox.record([temp(20), temp(21)])
    const b = await outbox.record([press()])
    expect([...a, ...b].map((e) => e.seq)).toEqual([1, 2, 3])
    expect(b[0]?.class).toBe('high')
  })

  it('writes high events with fsync and readings without', async () => {
    const store = new RecordingStore()
    const outbox = await openOutbox(store)
    await outbox.record([temp(20), temp(21)])
    await outbox.record([press()])
    expect(store.writes.map((w) => w.sync)).toEqual([false, true])
    expect(store.writes[0]?.change.put).toHaveLength(2)
  })

  it('stores events in seq order even when a press is fsynced slower than the readings recorded after it', async () => {
    const store = new SlowFsyncStore()
    const outbox = await openOutbox(store)
    const pressed = outbox.record([press()])
    const readings = outbox.record([temp(20), temp(21)])
    await Promise.all([pressed, readings])
    // A kill after any write finds seqs 1..n: never a later seq stored while an earlier one is not.
    for (const seqs of store.seqsAfterEachWrite) expect(seqs).toEqual(seqs.map((_, i) => i + 1))
    expect(store.seqsAfterEachWrite.at(-1)).toEqual([1, 2, 3])
  })

  it('continues the sequence after a restart even when every event was acked', async () => {
    const store = new MemoryOutboxStore()
    const first = await openOutbox(store)
    const [a] = await first.record([press()])
    await first.remove([a?.id ?? ''])
    const again = new Outbox({ store, deviceId: 'front-door', maxBytes: 1e6 })
    await again.open()
    const [b] = await again.record([press()])
    expect(b?.seq).toBe(2)
  })

  it('forgets an event only when removed', async () => {
    const outbox = await openOutbox()
    const [e] = await outbox.record([press()])
    expect(outbox.has(e?.id ?? '')).toBe(true)
    expect(outbox.depth().count.high).toBe(1)
    expect(await outbox.remove([e?.id ?? '', 'unknown'])).toBe(1)
    expect(outbox.depth().count.high).toBe(0)
  })

  it('evicts medium oldest first to stay under maxBytes and never evicts high', async () => {
    const probe = await openOutbox()
    const [one] = await probe.record([temp(20)])
    const oneBytes = JSON.stringify(one).length
    const outbox = await openOutbox(new MemoryOutboxStore(), oneBytes * 3 + 10)
    const evicted: number[] = []
    outbox.on('evicted', (_c, n) => evicted.push(n))
    const readings = await outbox.record([temp(20, 1), temp(21, 2), temp(22, 3)])
    await outbox.record([press(4)])
    expect(evicted).toEqual([1])
    expect(outbox.has(readings[0]?.id ?? '')).toBe(false)
    expect(outbox.has(readings[1]?.id ?? '')).toBe(true)
    await outbox.record([press(5), press(6), press(7)])
    expect(outbox.depth().count).toEqual({ high: 4, medium: 0, low: 0 })
  })

  it('lists pending ids oldest first and reads their bodies', async () => {
    const outbox = await openOutbox()
    const recorded = await outbox.record([temp(20, 1), temp(21, 2), temp(22, 3)])
    const ids = outbox.pendingIds('medium', 2, (id) => id === recorded[0]?.id)
    expect(ids).toEqual([recorded[1]?.id, recorded[2]?.id])
    const bodies = await outbox.readBodies('medium', ids)
    expect(JSON.parse(bodies[0]?.body ?? '{}').seq).toBe(2)
  })

  it('knows each event’s type, also after a reopen, without reading its body for it', async () => {
    const store = new MemoryOutboxStore()
    const first = await openOutbox(store)
    const [reading] = await first.record([temp(20, 1)])
    const [bell] = await first.record([press(2)])
    const again = await openOutbox(store)
    expect((await again.readBodies('medium', [reading?.id ?? ''])).map((b) => b.type)).toEqual([
      'temperature',
    ])
    expect((await first.readBodies('high', [bell?.id ?? ''])).map((b) => b.type)).toEqual(['button.press'])
    expect((await again.readBodies('high', [bell?.id ?? ''])).map((b) => b.type)).toEqual(['button.press'])
  })

  it('refuses an invalid payload without using a sequence number', async () => {
    const outbox = await openOutbox()
    await expect(outbox.record([temp(999)])).rejects.toThrow(/celsius/)
    const [e] = await outbox.record([temp(20)])
    expect(e?.seq).toBe(1)
  })
})

describe('Outbox press path', () => {
  it('serves the body of a press it recorded without reading the store', async () => {
    const store = new MemoryOutboxStore()
    const outbox = await openOutbox(store)
    const [e] = await outbox.record([press(1)])
    let reads = 0
    const read = store.read.bind(store)
    store.read = async (keys) => {
      reads++
      return read(keys)
    }
    const bodies = await outbox.readBodies('high', [e?.id ?? ''])
    expect(JSON.parse(bodies[0]?.body ?? '{}').id).toBe(e?.id)
    expect(reads).toBe(0)
  })
})
