import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../../agent/clock/manual-clock.js'
import { Debouncer } from '../../../agent/gpio/debouncer.js'

function setup(debounceMs = 50) {
  const clock = new ManualClock()
  const changes: Array<[boolean, number]> = []
  const start = clock.now()
  const debouncer = new Debouncer({
    clock,
    debounceMs,
    onChange: (isActive, atMs) => changes.push([isActive, atMs - start]),
  })
  return { clock, changes, debouncer }
}

describe('Debouncer', () => {
  it('accepts a press at once, without waiting for the debounce time', () => {
    const { clock, changes, debouncer } = setup()
    debouncer.input(true, clock.now())
    expect(changes).toEqual([[true, 0]])
  })

  it('turns contact bounce into one press and one release', () => {
    const { clock, changes, debouncer } = setup()
    for (const [level, atMs] of [
      [true, 0],
      [false, 2],
      [true, 4],
      [false, 6],
      [true, 9],
    ] as const) {
      clock.advance(atMs - (clock.now() - Date.UTC(2026, 0, 1)))
      debouncer.input(level, clock.now())
    }
    clock.advance(100)
    expect(changes).toEqual([[true, 0]])
    clock.advance(10)
    debouncer.input(false, clock.now())
    clock.advance(1)
    debouncer.input(true, clock.now())
    debouncer.input(false, clock.now())
    clock.advance(60)
    expect(changes.map(([level]) => level)).toEqual([true, false])
  })

  it('does not lose a release that happened during the lockout', () => {
    const { clock, changes, debouncer } = setup()
    debouncer.input(true, clock.now())
    clock.advance(20)
    debouncer.input(false, clock.now())
    expect(changes).toHaveLength(1)
    clock.advance(30)
    expect(changes.map(([level]) => level)).toEqual([true, false])
  })
})
