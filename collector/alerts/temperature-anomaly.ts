/** Settings of the detector (alerts.temperature in the config). */
export interface TemperatureAnomalySettings {
  readonly windowSize: number
  readonly minSamples: number
  readonly zScore: number
  /** Rise between the latest reading and the newest one at least 30 s older, in °C per minute. */
  readonly maxRiseCPerMin: number
  readonly maxCelsius: number
}

/** An anomalous reading and why. */
export interface TemperatureAnomaly {
  readonly deviceId: string
  readonly sensor: string
  readonly celsius: number
  readonly reason: 'over_max' | 'fast_rise' | 'z_score'
  /** The statistic that tripped: °C, °C per minute, or the z-score. */
  readonly value: number
  readonly atMs: number
}

interface Window {
  readonly readings: { celsius: number; atMs: number }[]
  /** Sum and sum of squares of the readings' °C, kept as readings come and go (the z-score is O(1)). */
  sum: number
  sumSquares: number
  /** Readings added since the sums were last recomputed exactly, to bound floating-point drift. */
  sinceExact: number
  /** At most the earliest atMs in the window (exact at each recompute): no rate to look for when recent. */
  oldestMs: number
  isAnomalous: boolean
}

/** Below this spread (°C) a z-score is meaningless: a steady sensor would alert on 0.1 °C. */
const minStdC = 0.5
/** A rate needs at least this much time between readings to mean anything. */
const minRateSpanMs = 30_000

/**
 * Temperature anomalies per device and sensor over a sliding window of readings: an absolute ceiling (a
 * doorbell cooking in the sun), a rate of rise since the newest reading at least 30 s old (a fire), and a z-score against the window's
 * mean (anything else far off). It alerts on the first anomalous reading and then stays quiet until a
 * normal reading clears it, so a hot afternoon is one alert, not one per reading.
 */
export class TemperatureAnomalyDetector {
  readonly #settings: TemperatureAnomalySettings
  readonly #windows = new Map<string, Map<string, Window>>()

  constructor(settings: TemperatureAnomalySettings) {
    this.#settings = settings
  }

  /** Adds a reading; returns an anomaly when this reading starts one. */
  observe(deviceId: string, sensor: string, celsius: number, atMs: number): TemperatureAnomaly | undefined {
    let sensors = this.#windows.get(deviceId)
    if (!sensors) {
      sensors = new Map()
      this.#windows.set(deviceId, sensors)
    }
    let window = sensors.get(sensor)
    if (!window) {
      window = { readings: [], sum: 0, sumSquares: 0, sinceExact: 0, oldestMs: Infinity, isAnomalous: false }
      sensors.set(sensor, window)
    }
    const found = this.#check(window, celsius, atMs)
    add(window, celsius, atMs, this.#settings.windowSize)
    if (!found) {
      window.isAnomalous = false
      return undefined
    }
    if (window.isAnomalous) return undefined
    window.isAnomalous = true
    return { deviceId, sensor, celsius, atMs, ...found }
  }

  #check(
    window: Window,
    celsius: number,
    atMs: number,
  ): Pick<TemperatureAnomaly, 'reason' | 'value'> | undefined {
    const s = this.#settings
    const history = window.readings
    if (celsius >= s.maxCelsius) return { reason: 'over_max', value: celsius }
    const previous =
      atMs - window.oldestMs >= minRateSpanMs
        ? history.findLast((r) => atMs - r.atMs >= minRateSpanMs)
        : undefined
    if (previous) {
      const ratePerMin = ((celsius - previous.celsius) / (atMs - previous.atMs)) * 60_000
      if (ratePerMin > s.maxRiseCPerMin) return { reason: 'fast_rise', value: round(ratePerMin) }
    }
    if (history.length >= s.minSamples) {
      const mean = window.sum / history.length
      const variance = Math.max(0, window.sumSquares / history.length - mean * mean)
      const z = (celsius - mean) / Math.max(Math.sqrt(variance), minStdC)
      if (Math.abs(z) > s.zScore) return { reason: 'z_score', value: round(z) }
    }
    return undefined
  }
}

/** Appends a reading, drops the oldest beyond windowSize, and keeps the sums (exact again every window). */
function add(window: Window, celsius: number, atMs: number, windowSize: number): void {
  window.readings.push({ celsius, atMs })
  window.sum += celsius
  window.sumSquares += celsius * celsius
  window.oldestMs = Math.min(window.oldestMs, atMs)
  if (window.readings.length > windowSize) {
    const dropped = window.readings.shift() as { celsius: number }
    window.sum -= dropped.celsius
    window.sumSquares -= dropped.celsius * dropped.celsius
  }
  window.sinceExact += 1
  if (window.sinceExact < windowSize) return
  window.sinceExact = 0
  window.sum = 0
  window.sumSquares = 0
  window.oldestMs = Infinity
  for (const r of window.readings) {
    window.sum += r.celsius
    window.sumSquares += r.celsius * r.celsius
    window.oldestMs = Math.min(window.oldestMs, r.atMs)
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100
}
