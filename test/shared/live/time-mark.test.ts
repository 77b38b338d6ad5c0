import { describe, expect, it } from 'vitest'
import { grayOf, timeMarkAgeMs, timeMarkModulo, valueOfGray } from '../../../shared/live/time-mark.js'

describe('capture-time mark', () => {
  it('decodes every Gray code back to its value', () => {
    for (const value of [0, 1, 2, 3, 1000, 123_456, timeMarkModulo - 1])
      expect(valueOfGray(grayOf(value))).toBe(value)
  })

  it('reads a row drawn across a millisecond boundary as one of the two neighbours', () => {
    const value = 0b0111_1111_1111
    const mixed = (grayOf(value) & 0xf00) | (grayOf(value + 1) & 0x0ff)
    expect([value, value + 1]).toContain(valueOfGray(mixed))
  })

  it('measures the age of a mark across the wrap', () => {
    expect(timeMarkAgeMs(timeMarkModulo - 10, 5)).toBe(15)
    expect(timeMarkAgeMs(100, 150)).toBe(50)
  })
})
