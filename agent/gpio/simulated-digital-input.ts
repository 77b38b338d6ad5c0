import type { Clock } from '../clock/clock.js'
import type { DigitalInput, DigitalOutput, LevelListener } from './digital-input.js'

/** The simulated twin of a GPIO input: `set` and `pulse` play a person at the door. */
export class SimulatedDigitalInput implements DigitalInput {
  #listener: LevelListener | undefined
  #isActive = false

  readonly #clock: Clock

  constructor(clock: Clock) {
    this.#clock = clock
  }

  async start(listener: LevelListener): Promise<void> {
    this.#listener = listener
  }

  /** Drives the line to a level, as a raw edge (debounce applies). */
  set(isActive: boolean): void {
    if (isActive === this.#isActive) return
    this.#isActive = isActive
    this.#listener?.(isActive, this.#clock.now())
  }

  /** Active, then inactive after holdMs (a press, or a PIR's output pulse); a held line is released first. */
  pulse(holdMs = 100): void {
    this.set(false)
    this.set(true)
    this.#clock.setTimeout(() => this.set(false), holdMs)
  }

  async close(): Promise<void> {
    this.#listener = undefined
  }
}

/** The simulated twin of a GPIO output: remembers its level. */
export class SimulatedDigitalOutput implements DigitalOutput {
  isActive = false

  async write(isActive: boolean): Promise<void> {
    this.isActive = isActive
  }

  async close(): Promise<void> {}
}
