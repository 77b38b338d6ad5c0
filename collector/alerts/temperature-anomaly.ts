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
  readonly #windows = new Map<string, Window>()

  constructor(settings: TemperatureAnomalySettings) {
    this.#settings = settings
  }

  /** Adds a reading; returns an anomaly when this reading starts one. */
  observe(deviceId: string, sensor: string, celsius: number, atMs: number): TemperatureAnomaly | undefined {
    const key = `${deviceId}\u0000${sensor}`
    let window = this.#windows.get(key)
    if (!window) {
      window = { readings: [], isAnomalous: false }
      this.#windows.set(key, window)
    }
    const found = this.#check(window.readings, celsius, atMs)
    window.readings.push({ celsius, atMs })
    if (window.readings.length > this.#settings.windowSize) window.readings.shift()
    if (!found) {
      window.isAnomalous = false
      return undefined
    }
    if (window.isAnomalous) return undefined
    window.isAnomalous = true
    return { deviceId, sensor, celsius, atMs, ...found }
  }

  #check(
    history: readonly { celsius: number; atMs: number }[],
    celsius: number,
    atMs: number,
  ): Pick<TemperatureAnomaly, 'reason' | 'value'> | undefined {
    const s = this.#settings
    if (celsius >= s.maxCelsius) return { reason: 'over_max', value: celsius }
    const previous = history.findLast((r) => atMs - r.atMs >= minRateSpanMs)
    if (previous) {
      const ratePerMin = ((celsius - previous.celsius) / (atMs - previous.atMs)) * 60_000
      if (ratePerMin > s.maxRiseCPerMin) return { reason: 'fast_rise', value: round(ratePerMin) }
    }
    if (history.length >= s.minSamples) {
      const mean = history.reduce((sum, r) => sum + r.celsius, 0) / history.length
      const variance = history.reduce((sum, r) => sum + (r.celsius - mean) ** 2, 0) / history.length
      const z = (celsius - mean) / Math.max(Math.sqrt(variance), minStdC)
      if (Math.abs(z) > s.zScore) return { reason: 'z_score', value: round(z) }
    }
    return undefined
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100
}
