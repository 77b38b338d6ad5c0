import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { Clock } from '../clock/clock.js'
import type { DigitalInput, DigitalOutput, LevelListener } from './digital-input.js'
import {
  type GpiodSyntax,
  type GpiodTools,
  gpiodToolPath,
  gpiomonCommand,
  gpiosetArgs,
  parseGpiomonLine,
} from './gpiod-tools.js'

/** Which line and how it is wired. */
export interface GpiodLineOptions {
  readonly tools: GpiodTools
  readonly syntax: GpiodSyntax
  /** Chip name, e.g. gpiochip0 (resolved from its label by gpiodetect). */
  readonly chip: string
  readonly line: number
  readonly activeLow: boolean
  readonly clock: Clock
  /** Called when gpiomon exits unexpectedly; the agent reports it and the input stops. */
  readonly onExit?: (code: number | null) => void
}

/** A GPIO input through the libgpiod character device, by a long-running gpiomon child process. */
export class GpiodDigitalInput implements DigitalInput {
  #child: ChildProcess | undefined
  #isClosing = false

  readonly #options: GpiodLineOptions

  constructor(options: GpiodLineOptions) {
    this.#options = options
  }

  async start(listener: LevelListener): Promise<void> {
    const { syntax, chip, line, activeLow, tools, clock } = this.#options
    const command = gpiomonCommand(tools, syntax, chip, line, activeLow ? 'pull-up' : 'pull-down')
    const child = spawn(command.file, command.args, { stdio: ['ignore', 'pipe', 'ignore'] })
    this.#child = child
    const lines = createInterface({ input: child.stdout })
    lines.on('line', (text) => {
      const edge = parseGpiomonLine(text)
      if (!edge) return
      const isHigh = edge === 'rising'
      listener(activeLow ? !isHigh : isHigh, clock.now())
    })
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve)
      child.once('error', reject)
    })
    child.once('exit', (code) => {
      if (!this.#isClosing) this.#options.onExit?.(code)
    })
  }

  async close(): Promise<void> {
    this.#isClosing = true
    const child = this.#child
    this.#child = undefined
    await stopChild(child)
  }
}

/** A GPIO output by gpioset, which holds the value while it runs (1.6 needs --mode=signal for that). */
export class GpiodDigitalOutput implements DigitalOutput {
  #child: ChildProcess | undefined

  readonly #options: Omit<GpiodLineOptions, 'clock' | 'onExit'>

  constructor(options: Omit<GpiodLineOptions, 'clock' | 'onExit'>) {
    this.#options = options
  }

  async write(isActive: boolean): Promise<void> {
    await this.close()
    const { syntax, chip, line, activeLow, tools } = this.#options
    const value: 0 | 1 = isActive !== activeLow ? 1 : 0
    const child = spawn(gpiodToolPath(tools, 'gpioset'), gpiosetArgs(syntax, chip, line, value), {
      stdio: 'ignore',
    })
    this.#child = child
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve)
      child.once('error', reject)
    })
  }

  async close(): Promise<void> {
    const child = this.#child
    this.#child = undefined
    await stopChild(child)
  }
}

/** SIGTERM to a gpiomon or gpioset still running, resolving once it has exited. */
async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
}
