import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { TemperatureAnomalyDetector } from '../../../collector/alerts/temperature-anomaly.js'
import { isInWindow, localMinutes } from '../../../collector/alerts/user-policy.js'
import { visitorStats } from '../../../collector/alerts/visitor-stats.js'
import { LevelEventStore } from '../../../collector/store/level-event-store.js'
import { createEnvelope } from '../../../shared/protocol/index.js'
import { tempDir } from '../collector-harness.js'

const settings = { windowSize: 30, minSamples: 10, zScore: 4, maxRiseCPerMin: 2, maxCelsius: 70 }
const minute = 60_000

describe('temperature anomaly detector', () => {
  it('stays quiet on normal drift and alerts once on a fire-like rise', () => {
    const detector = new TemperatureAnomalyDetector(settings)
    for (let i = 0; i < 20; i++) {
      expect(detector.observe('front-door', 'bme280', 20 + (i % 3) * 0.2, i * minute)).toBeUndefined()
    }
    const fire = detector.observe('front-door', 'bme280', 26, 20 * minute)
    expect(fire).toMatchObject({ reason: 'fast_rise', celsius: 26 })
    // Still anomalous: no second alert until a normal reading clears it.
    expect(detector.observe('front-door', 'bme280', 30, 21 * minute)).toBeUndefined()
  })

  it('alerts on an outlier by z-score and on the absolute ceiling', () => {
    const detector = new TemperatureAnomalyDetector({ ...settings, maxRiseCPerMin: 1000 })
    for (let i = 0; i < 15; i++) detector.observe('d', 's', 20 + (i % 2), i * minute)
    expect(detector.observe('d', 's', 4, 15 * minute)).toMatchObject({ reason: 'z_score' })
    const sun = new TemperatureAnomalyDetector(settings)
    expect(sun.observe('d', 's', 71, 0)).toMatchObject({ reason: 'over_max', value: 71 })
  })
})

interface Reading {
  readonly celsius: number
  readonly atMs: number
}

/**
 * What the detector should find for a reading against the window before it, computed the textbook way
 * (two passes for the z-score, a scan for the rate); `isNearThreshold` when rounding could tip it either way.
 */
function referenceCheck(
  limits: typeof settings,
  history: readonly Reading[],
  { celsius, atMs }: Reading,
): { reason: string | undefined; value?: number; isNearThreshold: boolean } {
  const near = (value: number, threshold: number) => Math.abs(value - threshold) < 1e-6
  if (celsius >= limits.maxCelsius) return { reason: 'over_max', value: celsius, isNearThreshold: false }
  const previous = history.findLast((r) => atMs - r.atMs >= 30_000)
  let isNearThreshold = false
  if (previous) {
    const rate = ((celsius - previous.celsius) / (atMs - previous.atMs)) * 60_000
    isNearThreshold ||= near(rate, limits.maxRiseCPerMin)
    if (rate > limits.maxRiseCPerMin) return { reason: 'fast_rise', value: rate, isNearThreshold }
  }
  if (history.length >= limits.minSamples) {
    const mean = history.reduce((sum, r) => sum + r.celsius, 0) / history.length
    const variance = history.reduce((sum, r) => sum + (r.celsius - mean) ** 2, 0) / history.length
    const z = (celsius - mean) / Math.max(Math.sqrt(variance), 0.5)
    isNearThreshold ||= near(Math.abs(z), limits.zScore)
    if (Math.abs(z) > limits.zScore) return { reason: 'z_score', value: z, isNearThreshold }
  }
  return { reason: undefined, isNearThreshold }
}

describe('temperature anomaly detector against a textbook reference', () => {
  it('finds exactly the anomalies the reference finds, on readings in and out of time order', () => {
    const limits = { windowSize: 12, minSamples: 5, zScore: 2.5, maxRiseCPerMin: 2, maxCelsius: 55 }
    const found = { over_max: 0, fast_rise: 0, z_score: 0 } as Record<string, number>
    fc.assert(
      fc.property(
        // Readings near 20 °C with the odd spike, seconds to a minute apart, sometimes stepping back in time.
        fc.array(
          fc.record({
            celsius: fc.oneof(
              { weight: 30, arbitrary: fc.double({ min: 19, max: 21, noNaN: true }) },
              { weight: 1, arbitrary: fc.double({ min: -30, max: 80, noNaN: true }) },
            ),
            gapMs: fc.integer({ min: -20_000, max: 60_000 }),
          }),
          { minLength: 50, maxLength: 400, size: 'max' },
        ),
        (steps) => {
          const detector = new TemperatureAnomalyDetector(limits)
          const history: Reading[] = []
          let wasAnomalous = false
          let atMs = 0
          for (const { celsius, gapMs } of steps) {
            atMs += gapMs
            const expected = referenceCheck(limits, history, { celsius, atMs })
            // Within rounding of a threshold either answer is right, and the states may part from here.
            if (expected.isNearThreshold) return
            const anomaly = detector.observe('d', 's', celsius, atMs)
            expect(anomaly?.reason).toBe(wasAnomalous ? undefined : expected.reason)
            if (anomaly) {
              found[anomaly.reason] = (found[anomaly.reason] ?? 0) + 1
              expect(anomaly.value).toBeCloseTo(expected.value ?? Number.NaN, 1)
            }
            wasAnomalous = expected.reason !== undefined
            history.push({ celsius, atMs })
            if (history.length > limits.windowSize) history.shift()
          }
        },
      ),
      { numRuns: 200 },
    )
    // The readings did exercise every kind of anomaly.
    expect(Math.min(found.over_max ?? 0, found.fast_rise ?? 0, found.z_score ?? 0)).toBeGreaterThan(5)
  })
})

describe('quiet hours', () => {
  it('handles windows that wrap midnight', () => {
    expect(isInWindow(23 * 60, '22:00', '07:00')).toBe(true)
    expect(isInWindow(6 * 60 + 59, '22:00', '07:00')).toBe(true)
    expect(isInWindow(7 * 60, '22:00', '07:00')).toBe(false)
    expect(isInWindow(12 * 60, '09:00', '17:00')).toBe(true)
    expect(localMinutes(Date.UTC(2026, 0, 1, 13, 30), 'UTC')).toBe(13 * 60 + 30)
  })
})

describe('visitor statistics', () => {
  let store: LevelEventStore | undefined
  let cleanup: (() => void) | undefined
  afterEach(async () => {
    await store?.close()
    cleanup?.()
  })

  it('counts presses and motion by hour of day and names the peak hours', async () => {
    const dir = tempDir('alerts-stats')
    cleanup = dir.cleanup
    store = await LevelEventStore.open({ path: dir.path, isSyncWrite: false })
    const day = Date.UTC(2026, 5, 1)
    const at = (hour: number, minuteOfHour: number) => day + hour * 3_600_000 + minuteOfHour * minute
    const stamp = (ms: number) => ({ capturedAtMs: ms })
    const stored = [
      ...[at(9, 1), at(18, 5), at(18, 40), at(18, 59)].map((ms, seq) =>
        createEnvelope({ deviceId: 'front-door', seq, ...stamp(ms), type: 'button.press', payload: {} }),
      ),
      ...[at(3, 0), at(18, 10)].map((ms, i) =>
        createEnvelope({
          deviceId: 'front-door',
          seq: 10 + i,
          ...stamp(ms),
          type: 'motion',
          payload: { armed: false },
        }),
      ),
      createEnvelope({
        deviceId: 'front-door',
        seq: 20,
        ...stamp(at(18, 0)),
        type: 'temperature',
        payload: { celsius: 20, sensor: 's' },
      }),
    ].map((e) => ({ ...e, receivedAtMs: day }))
    await store.commit({ events: stored, chunks: [] })
    const stats = await visitorStats(store, { fromMs: day, toMs: day + 86_400_000, timeZone: 'UTC' })
    expect(stats.presses.total).toBe(4)
    expect(stats.presses.byHour[18]).toBe(3)
    expect(stats.presses.byHour[9]).toBe(1)
    expect(stats.presses.peakHours).toEqual([18])
    expect(stats.motion.total).toBe(2)
    expect(stats.motion.peakHours).toEqual([3, 18])
    expect(stats.isTruncated).toBe(false)
  })
})
