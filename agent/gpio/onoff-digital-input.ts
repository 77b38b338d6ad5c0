import { DoorbellError } from '../../shared/errors.js'
import type { Clock } from '../clock/clock.js'
import type { DigitalInput, LevelListener } from './digital-input.js'

type OnoffModule = typeof import('onoff')
type OnoffGpio = InstanceType<OnoffModule['Gpio']>

/** Loads onoff on first use: it is optional, and its native epoll addon is absent on a laptop. */
export async function loadOnoff(): Promise<OnoffModule> {
  try {
    const loaded = (await import('onoff')) as OnoffModule & { default?: OnoffModule }
    return loaded.default ?? loaded
  } catch (err) {
    throw new DoorbellError(
      'HARDWARE_UNAVAILABLE',
      'sysfs GPIO needs the optional package onoff and its native epoll addon (npm install-scripts approve epoll)',
      { cause: err },
    )
  }
}

/** A GPIO input through sysfs (/sys/class/gpio) using onoff; the number is the sysfs one (chip base + line). */
export class OnoffDigitalInput implements DigitalInput {
  #gpio: OnoffGpio | undefined

  constructor(
    private readonly options: {
      readonly sysfsNumber: number
      readonly activeLow: boolean
      readonly clock: Clock
    },
  ) {}

  async start(listener: LevelListener): Promise<void> {
    const { Gpio } = await loadOnoff()
    if (!Gpio.accessible) throw new DoorbellError('HARDWARE_UNAVAILABLE', '/sys/class/gpio is not accessible')
    const gpio = new Gpio(this.options.sysfsNumber, 'in', 'both', { activeLow: this.options.activeLow })
    this.#gpio = gpio
    gpio.watch((err, value) => {
      if (!err) listener(value === 1, this.options.clock.now())
    })
  }

  async close(): Promise<void> {
    this.#gpio?.unwatchAll()
    this.#gpio?.unexport()
    this.#gpio = undefined
  }
}
