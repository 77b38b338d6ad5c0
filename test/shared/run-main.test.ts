import { describe, expect, it } from 'vitest'
import { DoorbellError } from '../../shared/errors.js'
import { exitCodeFor } from '../../shared/run-main.js'

describe('exitCodeFor', () => {
  it('exits 2 for bad usage and 1 for anything else, bad config included', () => {
    expect(exitCodeFor(new DoorbellError('USAGE', '--bogus'))).toBe(2)
    expect(exitCodeFor(new DoorbellError('CONFIG_INVALID'))).toBe(1)
    expect(exitCodeFor(new Error('boom'))).toBe(1)
    expect(exitCodeFor('a string')).toBe(1)
  })
})
