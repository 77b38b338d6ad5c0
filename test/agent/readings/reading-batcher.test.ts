import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../../agent/clock/manual-clock.js'
import type { RecordInput } from '../../../agent/outbox/outbox.js'
import { ChangeFilter } from '../../../agent/readings/change-filter.js'
import { ReadingBatcher } from '../../../agent/readings/reading-batcher.js'

const reading = (celsius: number): RecordInput => ({
  type: 'temperature',
  payload: { celsius, sensor: 's' },
  capturedAtMs: 0,
})

function setup(options = { batchIntervalMs: 10_000, batchMaxItems: 3 }) {
  const clock = new ManualClock()
  const writes: number[] = []
  const batcher = new ReadingBatcher({
    clock,
    options,
    store: async (inputs) => {
      writes.push(inputs.length)
    },
  })
  return { clock, writes, batcher }
}

const settle = () => new Promise((resolve) => setImmediate(resolve))

describe('ReadingBatcher', () => {
  it('writes one batch per interval, not one per reading', async () => {
    const { clock, writes, batcher } = setup()
    batcher.add(reading(1))
    clock.advance(4_000)
    batcher.add(reading(2))
    clock.advance(5_999)
    await settle()
    expect(writes).toEqual([])
    clock.advance(1)
    await settle()
    expect(writes).toEqual([2])
  })

  it('writes at once when the batch is full', async () => {
    const { writes, batcher } = setup()
    for (const c of [1, 2, 3, 4]) batcher.add(reading(c))
    await settle()
    expect(writes).toEqual([3])
    expect(batcher.pendingCount).toBe(1)
  })

  it('keeps readings when a write fails and retries at the next interval', async () => {
    const clock = new ManualClock()
    let attempts = 0
    const stored: number[] = []
    const batcher = new ReadingBatcher({
      clock,
      options: { batchIntervalMs: 1_000, batchMaxItems: 50 },
      store: async (inputs) => {
        attempts++
        if (attempts === 1) throw new Error('disk full')
        stored.push(inputs.length)
      },
    })
    batcher.add(reading(1))
    clock.advance(1_000)
    await settle()
    expect(stored).toEqual([])
    batcher.add(reading(2))
    clock.advance(1_000)
    await settle()
    expect(stored).toEqual([2])
  })

  it('flushes what is pending on close', async () => {
    const { writes, batcher } = setup()
    batcher.add(reading(1))
    await batcher.close()
    expect(writes).toEqual([1])
  })
})

describe('ChangeFilter', () => {
  const deadband = { minDelta: 0.5, maxSilenceMs: 60_000 }

  it('does not resend an identical reading', () => {
    const filter = new ChangeFilter()
    expect(filter.shouldSend('t', 20, 0, deadband)).toBe(true)
    expect(filter.shouldSend('t', 20, 1_000, deadband)).toBe(false)
    expect(filter.shouldSend('t', 20.4, 2_000, deadband)).toBe(false)
    expect(filter.shouldSend('t', 20.5, 3_000, deadband)).toBe(true)
  })

  it('resends an unchanged reading after maxSilenceMs', () => {
    const filter = new ChangeFilter()
    filter.shouldSend('t', 20, 0, deadband)
    expect(filter.shouldSend('t', 20, 59_999, deadband)).toBe(false)
    expect(filter.shouldSend('t', 20, 60_000, deadband)).toBe(true)
  })

  it('passes a relative change and a forced threshold crossing', () => {
    const filter = new ChangeFilter()
    const light = { minDelta: 1000, minRatio: 0.1, maxSilenceMs: 60_000 }
    filter.shouldSend('l', 100, 0, light)
    expect(filter.shouldSend('l', 105, 1, light)).toBe(false)
    expect(filter.shouldSend('l', 111, 2, light)).toBe(true)
    expect(filter.shouldSend('l', 111, 3, light, true)).toBe(true)
  })

  it('keeps keys apart', () => {
    const filter = new ChangeFilter()
    filter.shouldSend('a', 20, 0, deadband)
    expect(filter.shouldSend('b', 20, 0, deadband)).toBe(true)
  })
})
