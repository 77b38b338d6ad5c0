import type { PayloadInputOf } from '../../shared/protocol/index.js'
import type { Clock } from '../clock/clock.js'
import { PeriodicTask } from '../clock/periodic-task.js'
import type { AgentConfig } from '../config/agent-config.js'
import type { AgentHardware } from '../hardware.js'
import type { HostHealth } from '../health/health-probe.js'
import { ChangeFilter } from './change-filter.js'
import type { ReadingBatcher } from './reading-batcher.js'

/** The part of the health reading the host probe does not know: uptime, version, outbox and media. */
export type AgentHealthStatus = Omit<PayloadInputOf<'health'>, keyof HostHealth>

/** Collaborators of the sampler. */
export interface SensorSamplerDeps {
  readonly clock: Clock
  readonly batcher: ReadingBatcher
  readonly hardware: Pick<AgentHardware, 'temperature' | 'light' | 'health'>
  readonly config: Pick<AgentConfig, 'sensors' | 'medium' | 'health'>
  readonly healthStatus: () => AgentHealthStatus
  /** A poll that failed, reported at the boundary that owns the sensor; the next poll still runs. */
  readonly onError: (sensor: string, err: unknown) => void
}

/**
 * Polls the temperature and light sensors and the health probe on their intervals, drops readings the change
 * filter calls unchanged, and hands the rest to the batcher (medium class).
 */
export class SensorSampler {
  readonly #deps: SensorSamplerDeps
  readonly #filter = new ChangeFilter()
  readonly #tasks: PeriodicTask[] = []
  #healthTask: PeriodicTask | undefined

  constructor(deps: SensorSamplerDeps) {
    this.#deps = deps
  }

  /** Starts every enabled poll; each runs once at once, then on its interval. */
  start(): void {
    const { clock, batcher, hardware, config } = this.#deps
    const medium = config.medium
    const { temperature, light } = hardware
    if (temperature && config.sensors.temperature.enabled) {
      this.#every('temperature', config.sensors.temperature.intervalMs, async () => {
        const reading = await temperature.read()
        const deadband = { minDelta: medium.temperatureDeltaC, maxSilenceMs: medium.maxSilenceMs }
        if (
          this.#filter.shouldSend(`temperature:${reading.sensor}`, reading.celsius, clock.now(), deadband)
        ) {
          batcher.add({ type: 'temperature', payload: reading, capturedAtMs: clock.now() })
        }
      })
    }
    if (light && config.sensors.light.enabled) {
      this.#every('light', config.sensors.light.intervalMs, async () => {
        const reading = await light.read()
        const deadband = {
          minDelta: medium.lightDeltaLux,
          minRatio: medium.lightDeltaRatio,
          maxSilenceMs: medium.maxSilenceMs,
        }
        if (this.#filter.shouldSend(`light:${reading.sensor}`, reading.lux, clock.now(), deadband)) {
          batcher.add({ type: 'light', payload: reading, capturedAtMs: clock.now() })
        }
      })
    }
    this.#healthTask = this.#every('health', config.health.intervalMs, async () => {
      const host = await hardware.health.read()
      batcher.add({
        type: 'health',
        capturedAtMs: clock.now(),
        payload: { ...this.#deps.healthStatus(), ...host },
      })
    })
  }

  /** Polls every sensor now (the simulated twins' control endpoint uses it). */
  async sampleNow(): Promise<void> {
    await Promise.all(this.#tasks.map((task) => task.runNow()))
  }

  /** Sends a health reading now (the collector's `ping` command). */
  async reportHealth(): Promise<void> {
    await this.#healthTask?.runNow()
  }

  /** Stops every poll, waiting for runs in progress. */
  async stop(): Promise<void> {
    await Promise.all(this.#tasks.map((task) => task.stop()))
  }

  #every(name: string, intervalMs: number, run: () => Promise<void>): PeriodicTask {
    const task = new PeriodicTask({
      clock: this.#deps.clock,
      intervalMs,
      run,
      onError: (err) => this.#deps.onError(name, err),
    })
    this.#tasks.push(task)
    task.start()
    return task
  }
}
