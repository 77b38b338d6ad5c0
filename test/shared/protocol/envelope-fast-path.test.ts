import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { DoorbellError } from '../../../shared/errors.js'
import { validateEnvelope, validateEnvelopeBySchema } from '../../../shared/protocol/envelope.js'
import { acceptCommonEnvelope, isoDateTimeWithOffset } from '../../../shared/protocol/envelope-fast-path.js'
import { newEventId } from '../../../shared/protocol/ids.js'
import { isMessageType, messageTypes } from '../../../shared/protocol/messages.js'

const classesOf = (type: string) => (isMessageType(type) ? messageTypes[type].classes : undefined)

/** What zod says of a value: its output as JSON (key order included), or the error's code and message. */
function bySchema(value: unknown): { json: string } | { code: string; message: string } {
  try {
    return { json: JSON.stringify(validateEnvelopeBySchema(value)) }
  } catch (err) {
    if (!(err instanceof DoorbellError)) throw err
    return { code: err.code, message: err.message }
  }
}

const ulid = fc.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/)
/** Values near each field's bounds and of the wrong kinds, so both sides of every check are reached. */
const anyValue = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 1.5, -60, -60.1, 150, 150.1, 200_000, 600_000, 600_001, -200, 2 ** 53),
  fc.constantFrom('', 'x', 'front', 'online', 'offline', 'a'.repeat(32), 'a'.repeat(33), 'a'.repeat(65)),
  fc.constantFrom(true, false, null, undefined, [], {}),
  ulid,
  fc.string({ maxLength: 70 }),
  fc.double(),
)
/** Mostly a valid value, sometimes anything: every field is valid together often enough. */
const mostly = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: valid, weight: 8 }, { arbitrary: anyValue as fc.Arbitrary<unknown>, weight: 1 })
const sensor = mostly(fc.string({ minLength: 1, maxLength: 64 }))
const payloadFor: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  temperature: fc.record({ celsius: mostly(fc.double({ min: -61, max: 151, noNaN: true })), sensor }),
  light: fc.record({ lux: mostly(fc.double({ min: -1, max: 200_001, noNaN: true })), sensor }),
  'sound.level': fc.record({
    dbfs: mostly(fc.double({ min: -201, max: 1, noNaN: true })),
    peakDbfs: mostly(fc.double({ min: -201, max: 1, noNaN: true })),
    windowMs: mostly(fc.integer({ min: -1, max: 600_001 })),
    isLoud: mostly(fc.boolean()),
  }),
  'button.press': fc.record({ button: mostly(fc.string({ maxLength: 33 })) }, { requiredKeys: [] }),
  motion: fc.record(
    { armed: mostly(fc.boolean()), zone: mostly(fc.string({ maxLength: 33 })) },
    { requiredKeys: ['armed'] },
  ),
  status: fc.record({ state: mostly(fc.constantFrom('online', 'offline')) }),
  ack: fc.record(
    {
      ids: mostly(fc.array(ulid, { maxLength: 3 })),
      rejected: mostly(
        fc.array(
          fc.record({
            id: mostly(ulid),
            code: mostly(fc.string({ minLength: 1, maxLength: 65 })),
            retry: mostly(fc.boolean()),
          }),
          { maxLength: 2 },
        ),
      ),
    },
    { requiredKeys: ['ids'] },
  ),
}
const typeName = fc.constantFrom(...Object.keys(payloadFor), 'health', 'nope')
const classesOfType = (type: string): readonly string[] => classesOf(type) ?? ['medium']
const envelope = typeName
  .chain((type) =>
    fc.record(
      {
        v: mostly(fc.constant(1)),
        id: mostly(ulid),
        deviceId: mostly(fc.constantFrom('porch', 'front-door', 'a/b', '-x', 'x'.repeat(65))),
        seq: mostly(fc.nat()),
        class: fc.oneof(
          { arbitrary: fc.constantFrom(...classesOfType(type)), weight: 6 },
          { arbitrary: fc.constantFrom('high', 'medium', 'low', 'urgent'), weight: 1 },
        ),
        type: fc.constant(type),
        capturedAt: fc.oneof(
          {
            arbitrary: fc
              .date({ min: new Date('1990-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
              .map((d) => d.toISOString()),
            weight: 6,
          },
          {
            arbitrary: fc.constantFrom(
              '2026-12-04T01:02:03+01:00',
              '2028-02-29T00:00:00Z',
              '2026-02-29T00:00:00Z',
              '2026-12-04 01:02:03Z',
              '2026-12-04T01:02:03',
            ),
            weight: 2,
          },
        ),
        payload: payloadFor[type] ?? fc.object(),
        extra: anyValue,
      },
      { requiredKeys: ['v', 'id', 'deviceId', 'seq', 'class', 'type', 'capturedAt'] },
    ),
  )
  .map((value) => {
    // The optional extra key is an unknown key only now and then (strictObject refuses it).
    const { extra, ...rest } = value as Record<string, unknown>
    return typeof extra === 'number' && extra > 1000 ? { ...rest, extra } : rest
  })

describe('the envelope fast path', () => {
  it('uses the datetime pattern of the zod schema it stands in for', () => {
    const schema = z.iso.datetime({ offset: true }) as unknown as { _zod: { def: { pattern: RegExp } } }
    expect(isoDateTimeWithOffset.source).toBe(schema._zod.def.pattern.source)
  })

  it('accepts only what zod accepts, with the same output to the byte, and leaves every rejection to zod', () => {
    let accepted = 0
    fc.assert(
      fc.property(envelope, (value) => {
        const fast = acceptCommonEnvelope(value, classesOf)
        const reference = bySchema(value)
        if (fast) {
          accepted += 1
          expect(reference).toEqual({ json: JSON.stringify(fast) })
        }
        // Through validateEnvelope (fast path first) the answer is zod's, rejections word for word.
        let answer: ReturnType<typeof bySchema>
        try {
          answer = { json: JSON.stringify(validateEnvelope(value)) }
        } catch (err) {
          answer = { code: (err as DoorbellError).code, message: (err as Error).message }
        }
        expect(answer).toEqual(reference)
      }),
      { numRuns: 4000, seed: 16 },
    )
    // The generator reaches the fast path often enough for the comparison to mean something.
    expect(accepted).toBeGreaterThan(200)
  })

  it('takes a plain reading, press and ack without zod, frozen', () => {
    const header = {
      v: 1,
      id: newEventId(),
      deviceId: 'porch',
      seq: 3,
      capturedAt: '2026-12-04T01:02:03.004Z',
    }
    for (const [type, eventClass, payload] of [
      ['temperature', 'medium', { celsius: 21.5, sensor: 'ds18b20' }],
      ['button.press', 'high', {}],
      ['ack', 'high', { ids: [header.id] }],
    ] as const) {
      const fast = acceptCommonEnvelope({ ...header, class: eventClass, type, payload }, classesOf)
      expect(fast).toBeDefined()
      expect(Object.isFrozen(fast)).toBe(true)
      expect(JSON.stringify(fast)).toBe(
        JSON.stringify(validateEnvelopeBySchema({ ...header, class: eventClass, type, payload })),
      )
    }
  })
})
