import { describe, expect, it } from 'vitest'
import { loadCollectorConfig } from '../../../collector/config.js'
import { thrownDoorbellError as configError } from '../../support/doorbell-error.js'

describe('live.fallback config', () => {
  it('sends the door sound by default, with lip sync held within 80 ms', () => {
    const { fallback } = loadCollectorConfig(undefined, {}).live
    expect(fallback).toMatchObject({ audio: true, maxAudioSkewMs: 80 })
    const off = loadCollectorConfig(undefined, { DOORBELL_LIVE__FALLBACK__AUDIO: 'false' }).live.fallback
    expect(off.audio).toBe(false)
  })

  it('names a skew bound too small to hold one Opus packet, and a sound switch that is not a boolean', () => {
    const err = configError(() =>
      loadCollectorConfig(undefined, {
        DOORBELL_LIVE__FALLBACK__MAX_AUDIO_SKEW_MS: '5',
        DOORBELL_LIVE__FALLBACK__AUDIO: '"loud"',
      }),
    )
    expect(err.code).toBe('CONFIG_INVALID')
    const fields = (err.details.problems as { field: string }[]).map((p) => p.field).sort()
    expect(fields).toEqual(['live.fallback.audio', 'live.fallback.maxAudioSkewMs'])
  })
})
