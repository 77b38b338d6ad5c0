import fc from 'fast-check'
import { decodeTime, TIME_MAX } from 'ulid'
import { describe, expect, it } from 'vitest'
import { eventIdTimeMs, newEventId, ulidTimePrefix } from '../../../shared/protocol/index.js'

const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/** What the ulid package answers: the time, or its error message. */
function reference(id: string): number | string {
  try {
    return decodeTime(id)
  } catch (err) {
    return (err as Error).message
  }
}

function ours(id: string): number | string {
  try {
    return eventIdTimeMs(id)
  } catch (err) {
    return (err as Error).message
  }
}

describe('eventIdTimeMs', () => {
  it('reads the time of new ids and of time prefixes', () => {
    const nowMs = Date.now()
    expect(eventIdTimeMs(newEventId(nowMs))).toBe(nowMs)
    expect(eventIdTimeMs(`${ulidTimePrefix(TIME_MAX)}${'0'.repeat(16)}`)).toBe(TIME_MAX)
    expect(eventIdTimeMs('0'.repeat(26))).toBe(0)
  })

  it('answers as the ulid package does, times and errors, for ULID-like and arbitrary strings', () => {
    const idChar = fc.constantFrom(
      ...crockford,
      ...crockford.toLowerCase(),
      'I',
      'L',
      'O',
      'U',
      '-',
      'é',
      '\u0000',
    )
    const idLike = fc.array(idChar, { minLength: 24, maxLength: 28 }).map((chars) => chars.join(''))
    const mostlyValid = fc
      .tuple(
        fc.integer({ min: 0, max: TIME_MAX * 2 }),
        fc.array(fc.constantFrom(...crockford), { minLength: 16, maxLength: 16 }),
      )
      .map(([ms, rest]) => `${ms.toString(32).toUpperCase().padStart(10, '0').slice(-10)}${rest.join('')}`)
    fc.assert(
      fc.property(fc.oneof(idLike, mostlyValid, fc.string()), (id) => {
        expect(ours(id)).toEqual(reference(id))
      }),
      { numRuns: 5000 },
    )
  })

  it('refuses a time beyond the largest a ULID holds, with the package error', () => {
    expect(() => eventIdTimeMs(`8${'0'.repeat(25)}`)).toThrow(/timestamp too large/)
    expect(() => eventIdTimeMs('0123456789ABCDEFGHJKMNPQRU')).not.toThrow()
    expect(() => eventIdTimeMs('U123456789ABCDEFGHJKMNPQRS')).toThrow(/Invalid character: U/)
  })
})
