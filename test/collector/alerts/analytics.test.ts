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
    await store.commit({ events: stored, chunks: [], clips: [] })
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
