import { DoorbellError } from '../../shared/errors.js'
import type { Clock } from '../clock/clock.js'
import type { DigitalInput, LevelListener } from './digital-input.js'

/** The part of onoff 6's Gpio this adapter uses (its onoff.d.ts), declared here so that type-checking
 * does not need the optional package installed. */
interface OnoffGpio {
  watch(callback: (err: Error | null | undefined, value: 0 | 1) => void): void
  unwatchAll(): void
  unexport(): void
}

/** The part of the onoff module this adapter uses. */
interface OnoffModule {
  readonly Gpio: {
    new (gpio: number, direction: 'in', edge: 'both', options: { activeLow: boolean }): OnoffGpio
    readonly accessible: boolean
  }
}

/** Package name in a variable: resolved at run time only, never by the compiler. */
const onoffPackage = 'onoff'

/** Loads onoff on first use: it is optional, and its native epoll addon is absent on a laptop. */
export async function loadOnoff(): Promise<OnoffModule> {
  try {
    const loaded = (await import(onoffPackage)) as OnoffModule & { default?: OnoffModule }
    return loaded.default ?? loaded
  } catch (err) {
    throw new DoorbellError(
      'HARDWARE_UNAVAILABLE',
      'sysfs GPIO needs the optional package onoff and its native epoll addon (npm install-scripts approve epoll)',
      { cause: err },
    )
  }
}

/** The sysfs line an onoff input watches. */
export interface OnoffLineOptions {
  readonly sysfsNumber: number
  readonly activeLow: boolean
  readonly clock: Clock
}

/** A GPIO input through sysfs (/sys/class/gpio) using onoff; the number is the sysfs one (chip base + line). */
export class OnoffDigitalInput implements DigitalInput {
  #gpio: OnoffGpio | undefined

  readonly #options: OnoffLineOptions

  constructor(options: OnoffLineOptions) {
    this.#options = options
  }

  async start(listener: LevelListener): Promise<void> {
    const { Gpio } = await loadOnoff()
    if (!Gpio.accessible) throw new DoorbellError('HARDWARE_UNAVAILABLE', '/sys/class/gpio is not accessible')
    const gpio = new Gpio(this.#options.sysfsNumber, 'in', 'both', { activeLow: this.#options.activeLow })
    this.#gpio = gpio
    gpio.watch((err, value) => {
      if (!err) listener(value === 1, this.#options.clock.now())
    })
  }

  async close(): Promise<void> {
    this.#gpio?.unwatchAll()
    this.#gpio?.unexport()
    this.#gpio = undefined
  }
}
