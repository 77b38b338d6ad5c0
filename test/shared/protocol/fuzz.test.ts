import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DoorbellError } from '../../../shared/errors.js'
import {
  decodeBatch,
  decodeChunk,
  decodeEvent,
  encodeEvent,
  parseTopic,
} from '../../../shared/protocol/index.js'
import { exampleEnvelopes } from './fixtures.js'

/** Every decoder must either return a valid value or throw a DoorbellError: never anything else. */
function onlyDoorbellErrors(fn: () => unknown): void {
  try {
    fn()
  } catch (err) {
    if (!(err instanceof DoorbellError)) throw err
  }
}

const validJson = exampleEnvelopes()
  .filter((e) => e.type !== 'clip.chunk')
  .map((e) => encodeEvent(e))

describe('protocol decoders under random input', () => {
  it('answer random bytes with a DoorbellError or a valid envelope', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        const buffer = Buffer.from(bytes)
        onlyDoorbellErrors(() => decodeEvent(buffer))
        onlyDoorbellErrors(() => decodeBatch(buffer))
        onlyDoorbellErrors(() => decodeChunk(buffer))
      }),
      { numRuns: 500 },
    )
  })

  it('answer mutated valid messages with a DoorbellError or a re-encodable envelope', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...validJson),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        (original, edits) => {
          const mutated = Buffer.from(original)
          for (const [position, byte] of edits) mutated[position % mutated.length] = byte
          try {
            const envelope = decodeEvent(mutated)
            // Whatever was accepted must survive its own encoder: nothing half-valid gets stored.
            expect(decodeEvent(encodeEvent(envelope))).toEqual(envelope)
          } catch (err) {
            if (!(err instanceof DoorbellError)) throw err
          }
        },
      ),
      { numRuns: 1000 },
    )
  })

  it('answer random JSON values with a DoorbellError', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        onlyDoorbellErrors(() => decodeEvent(Buffer.from(JSON.stringify(value) ?? 'null')))
      }),
      { numRuns: 500 },
    )
  })

  it('answer random topics with a DoorbellError or a parsed topic', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('doorbell', 'v1', 'd1', 'event', 'high', 'ack', '+', '#', '', 'x/y'), {
          maxLength: 7,
        }),
        (levels) => {
          onlyDoorbellErrors(() => parseTopic(levels.join('/')))
        },
      ),
      { numRuns: 500 },
    )
  })
})
