import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../../agent/clock/manual-clock.js'
import { MemoryOutboxStore } from '../../../agent/outbox/memory-outbox-store.js'
import { Outbox, type RecordInput } from '../../../agent/outbox/outbox.js'
import { LoopbackUplink } from '../../../agent/uplink/loopback-uplink.js'
import { OutboxSender } from '../../../agent/uplink/outbox-sender.js'
import { createEnvelope, topics } from '../../../shared/protocol/index.js'

const deviceId = 'front-door'
const press = (i: number): RecordInput => ({
  type: 'button.press',
  payload: { button: `b${i}` },
  capturedAtMs: 1e12 + i,
})
const temp = (i: number): RecordInput => ({
  type: 'temperature',
  payload: { celsius: i % 100, sensor: 's' },
  capturedAtMs: 1e12 + i,
})

async function setup(options: Partial<ConstructorParameters<typeof OutboxSender>[0]['options']> = {}) {
  const clock = new ManualClock()
  const outbox = new Outbox({ store: new MemoryOutboxStore(), deviceId, maxBytes: 10_000_000 })
  await outbox.open()
  const uplink = new LoopbackUplink(deviceId)
  const sender = new OutboxSender({
    deviceId,
    outbox,
    uplink,
    clock,
    options: { batchMaxItems: 100, mediumWindow: 200, ackTimeoutMs: 30_000, retryDelayMs: 5_000, ...options },
  })
  return { clock, outbox, uplink, sender }
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return
    await new Promise((resolve) => setImmediate(resolve))
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe('OutboxSender', () => {
  it('publishes a press at once and forgets it on the ack', async () => {
    const { outbox, uplink } = await setup()
    uplink.start()
    const [e] = await outbox.record([press(1)])
    await until(() => outbox.depth().count.high === 0, 'ack')
    expect(uplink.received[0]?.topic).toBe('doorbell/v1/front-door/event/high')
    expect(uplink.stored.has(e?.id ?? '')).toBe(true)
  })

  it('keeps events while offline and sends high, then medium after reconnect', async () => {
    const { outbox, uplink } = await setup()
    uplink.start()
    uplink.setOnline(false)
    await outbox.record([temp(1), temp(2), temp(3)])
    await outbox.record([press(4)])
    await outbox.record([temp(5)])
    await outbox.record([press(6)])
    expect(uplink.received).toEqual([])
    uplink.setOnline(true)
    await until(() => outbox.depth().totalBytes === 0, 'drain')
    const classes = uplink.received.flatMap((m) => m.envelopes.map((e) => e.class))
    expect(classes).toEqual(['high', 'high', 'medium', 'medium', 'medium', 'medium'])
    expect(uplink.stored.size).toBe(6)
  })

  it('sends a snapshot alone on event/medium and batches the readings around it, also after a restart', async () => {
    const store = new MemoryOutboxStore()
    const first = new Outbox({ store, deviceId, maxBytes: 10_000_000 })
    await first.open()
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xd9])
    const snapshot: RecordInput = {
      type: 'snapshot',
      payload: {
        contentType: 'image/jpeg',
        bytes: jpeg.length,
        sha256: createHash('sha256').update(jpeg).digest('hex'),
        data: jpeg.toString('base64'),
      },
      capturedAtMs: 1e12 + 2,
    }
    await first.record([temp(1), snapshot, temp(3)])
    // A restarted agent knows the types from its outbox on disk.
    const outbox = new Outbox({ store, deviceId, maxBytes: 10_000_000 })
    await outbox.open()
    const uplink = new LoopbackUplink(deviceId)
    new OutboxSender({
      deviceId,
      outbox,
      uplink,
      clock: new ManualClock(),
      options: { batchMaxItems: 100, mediumWindow: 200, ackTimeoutMs: 30_000, retryDelayMs: 5_000 },
    })
    uplink.start()
    await until(() => outbox.depth().totalBytes === 0, 'drain')
    expect(uplink.received.map((m) => [m.topic, m.envelopes.map((e) => e.type)])).toEqual([
      [topics.event(deviceId, 'medium'), ['snapshot']],
      [topics.batch(deviceId, 'medium'), ['temperature', 'temperature']],
    ])
  })

  it('resends unacked events after a reconnect with the same ids', async () => {
    const { outbox, uplink } = await setup()
    uplink.start()
    uplink.isAcking = false
    const [e] = await outbox.record([press(1)])
    await until(() => uplink.received.length === 1, 'first send')
    uplink.setOnline(false)
    uplink.isAcking = true
    uplink.setOnline(true)
    await until(() => outbox.depth().count.high === 0, 'ack after resend')
    expect(uplink.received.map((m) => m.envelopes[0]?.id)).toEqual([e?.id, e?.id])
    expect(uplink.stored.size).toBe(1)
  })

  it('resends when no ack comes within ackTimeoutMs', async () => {
    const { clock, outbox, uplink } = await setup({ ackTimeoutMs: 10_000 })
    uplink.start()
    uplink.isAcking = false
    await outbox.record([press(1)])
    await until(() => uplink.received.length === 1, 'first send')
    clock.advance(5_000)
    expect(uplink.received).toHaveLength(1)
    uplink.isAcking = true
    clock.advance(5_000)
    clock.advance(5_000)
    await until(() => outbox.depth().count.high === 0, 'ack after timeout')
    expect(uplink.received).toHaveLength(2)
  })

  it('batches medium readings within the window', async () => {
    const { outbox, uplink } = await setup({ batchMaxItems: 50, mediumWindow: 100 })
    uplink.setOnline(false)
    uplink.start()
    await outbox.record(Array.from({ length: 230 }, (_, i) => temp(i)))
    uplink.setOnline(true)
    await until(() => outbox.depth().count.medium === 0, 'drain')
    expect(uplink.received.map((m) => m.envelopes.length)).toEqual([50, 50, 50, 50, 30])
    expect(uplink.received.every((m) => m.topic.endsWith('/batch/medium'))).toBe(true)
  })

  it('drops an event rejected for good and holds one rejected with retry', async () => {
    const { clock, outbox, uplink, sender } = await setup()
    uplink.isAcking = false
    uplink.start()
    const [a, b] = await outbox.record([press(1), press(2)])
    await until(() => uplink.received.length === 2, 'send')
    const rejected: string[] = []
    sender.on('rejected', (id, _code, retry) => rejected.push(`${id === a?.id ? 'a' : 'b'}:${retry}`))
    const ack = createEnvelope({
      deviceId,
      seq: 0,
      type: 'ack',
      payload: {
        ids: [],
        rejected: [
          { id: a?.id ?? '', code: 'PROTOCOL_MALFORMED', retry: false },
          { id: b?.id ?? '', code: 'STORE_DISK_FULL', retry: true },
        ],
      },
    })
    uplink.emit('message', 'ack', Buffer.from(JSON.stringify(ack)))
    await until(() => rejected.length === 2, 'rejections')
    await until(() => !outbox.has(a?.id ?? ''), 'drop')
    expect(outbox.has(b?.id ?? '')).toBe(true)
    expect(uplink.received).toHaveLength(2)
    uplink.isAcking = true
    clock.advance(5_000)
    await until(() => outbox.depth().count.high === 0, 'retry')
    expect(uplink.received).toHaveLength(3)
  })

  it('ignores a malformed ack and acks for another device', async () => {
    const { outbox, uplink, sender } = await setup()
    uplink.isAcking = false
    uplink.start()
    const [e] = await outbox.record([press(1)])
    const bad: unknown[] = []
    sender.on('badMessage', (err) => bad.push(err))
    uplink.emit('message', 'ack', Buffer.from('{"nope":1}'))
    const other = createEnvelope({
      deviceId: 'back-door',
      seq: 0,
      type: 'ack',
      payload: { ids: [e?.id ?? ''] },
    })
    uplink.emit('message', 'ack', Buffer.from(JSON.stringify(other)))
    expect(bad).toHaveLength(2)
    expect(outbox.has(e?.id ?? '')).toBe(true)
  })

  it('sends low events only when nothing of a higher class is unacked', async () => {
    const { outbox, uplink } = await setup()
    uplink.setOnline(false)
    uplink.start()
    const clipId = createEnvelope({ deviceId, seq: 0, type: 'button.press', payload: {} }).id
    await outbox.record([
      {
        type: 'clip.manifest',
        capturedAtMs: 1e12,
        payload: {
          clipId,
          contentType: 'video/mp4',
          startedAt: new Date(1e12).toISOString(),
          durationMs: 1000,
          prerollMs: 0,
          hasAudio: false,
          bytes: 10,
          sha256: 'a'.repeat(64),
          chunkBytes: 10,
          chunkCount: 1,
        },
      },
    ])
    await outbox.record([temp(1)])
    await outbox.record([press(2)])
    uplink.setOnline(true)
    await until(() => outbox.depth().totalBytes === 0, 'drain')
    expect(uplink.received.map((m) => m.topic.split('/').slice(3).join('/'))).toEqual([
      'event/high',
      'batch/medium',
      'event/low',
    ])
  })
})

describe('acks larger than one event envelope', () => {
  it('accepts an ack of 1000 ids (maxAckIds), which is over the 16 KiB event limit', async () => {
    const { outbox, uplink } = await setup({ batchMaxItems: 500, mediumWindow: 2_000 })
    uplink.isAcking = false
    uplink.start()
    const recorded = await outbox.record(Array.from({ length: 1000 }, (_, i) => temp(i)))
    await until(() => uplink.received.length === 2, 'two batches sent')
    const ack = createEnvelope({ deviceId, seq: 0, type: 'ack', payload: { ids: recorded.map((e) => e.id) } })
    const payload = Buffer.from(JSON.stringify(ack))
    expect(payload.length).toBeGreaterThan(16 * 1024)
    uplink.emit('message', 'ack', payload)
    await until(() => outbox.depth().count.medium === 0, 'all acked')
  })
})

describe('low-class seam (clip chunks, media issue)', () => {
  it('pulls units only when no high or medium event is unacked, within the source window', async () => {
    const clock = new ManualClock()
    const outbox = new Outbox({ store: new MemoryOutboxStore(), deviceId, maxBytes: 10_000_000 })
    await outbox.open()
    const uplink = new LoopbackUplink(deviceId)
    const calls: string[] = []
    const inFlight = new Set<string>()
    const chunks = ['c1', 'c2', 'c3']
    const lowClass = {
      next: async () => {
        const id = chunks.find((c) => !inFlight.has(c))
        if (!id || inFlight.size >= 2) return undefined
        inFlight.add(id)
        calls.push(`${id} at depth ${outbox.depth().count.high + outbox.depth().count.medium}`)
        return { topic: topics.chunk(deviceId), payload: Buffer.from(id) }
      },
      onAck: (ack: { ids: readonly string[] }) => {
        for (const id of ack.ids) calls.push(`ack ${id.slice(0, 3)}`)
      },
      onOffline: () => {
        inFlight.clear()
        calls.push('offline')
      },
    }
    new OutboxSender({
      deviceId,
      outbox,
      uplink,
      clock,
      lowClass,
      options: { batchMaxItems: 100, mediumWindow: 200, ackTimeoutMs: 30_000, retryDelayMs: 5_000 },
    })
    uplink.setOnline(false)
    uplink.start()
    await outbox.record([temp(1)])
    await outbox.record([press(2)])
    uplink.setOnline(true)
    await until(() => calls.filter((c) => c.startsWith('c')).length === 2, 'two chunks pulled')
    await new Promise((resolve) => setImmediate(resolve))
    expect(calls.filter((c) => c.startsWith('c'))).toEqual(['c1 at depth 0', 'c2 at depth 0'])
    expect(calls.filter((c) => c.startsWith('ack')).length).toBeGreaterThanOrEqual(2)
    uplink.setOnline(false)
    expect(calls.at(-1)).toBe('offline')
  })
})
