import { DoorbellError } from '../../shared/errors.js'
import type { Clock } from '../clock/clock.js'
import type { DigitalInput } from './digital-input.js'
import { GpiodDigitalInput } from './gpiod-digital-io.js'
import { detectGpiodSyntax, type GpiodTools, listGpiodChips } from './gpiod-tools.js'
import { OnoffDigitalInput } from './onoff-digital-input.js'
import { headerChipLabels, listSysfsGpioChips, pickHeaderChip, sysfsGpioNumber } from './sysfs-gpio-chips.js'

/** Inputs to the backend choice; roots and binDir are replaceable for tests. */
export interface GpioBackendOptions {
  readonly backend: 'auto' | 'gpiod' | 'sysfs'
  readonly chipLabel?: string | undefined
  readonly clock: Clock
  readonly tools?: GpiodTools
  readonly sysfsRoot?: string
  readonly onInputExit?: (name: string, code: number | null) => void
}

/** Makes one input per named line on the chosen backend. */
export interface GpioBackend {
  readonly kind: 'gpiod' | 'sysfs'
  /** e.g. "gpiod 2.x on gpiochip0 [pinctrl-bcm2711]" or "sysfs base 512 [pinctrl-bcm2711]". */
  readonly description: string
  input(name: string, line: number, activeLow: boolean): DigitalInput
}

async function gpiodBackend(options: GpioBackendOptions): Promise<GpioBackend> {
  const tools = options.tools ?? {}
  const syntax = await detectGpiodSyntax(tools)
  const chips = await listGpiodChips(tools)
  const wanted = options.chipLabel ? [options.chipLabel] : headerChipLabels
  const chip = wanted.map((label) => chips.find((c) => c.label === label)).find((c) => c !== undefined)
  if (!chip) {
    throw new DoorbellError(
      'HARDWARE_UNAVAILABLE',
      `gpiodetect lists no chip labelled ${wanted.join(' or ')}`,
      {
        details: { field: 'gpio.chipLabel' },
      },
    )
  }
  return {
    kind: 'gpiod',
    description: `gpiod ${syntax === 1 ? '1.6' : '2.x'} on ${chip.name} [${chip.label}]`,
    input: (name, line, activeLow) =>
      new GpiodDigitalInput({
        tools,
        syntax,
        chip: chip.name,
        line,
        activeLow,
        clock: options.clock,
        onExit: (code) => options.onInputExit?.(name, code),
      }),
  }
}

async function sysfsBackend(options: GpioBackendOptions): Promise<GpioBackend> {
  const chips = await listSysfsGpioChips(options.sysfsRoot)
  if (chips.length === 0) {
    throw new DoorbellError(
      'HARDWARE_UNAVAILABLE',
      '/sys/class/gpio is missing (removed on Trixie, onoff #206)',
    )
  }
  const chip = pickHeaderChip(chips, options.chipLabel)
  return {
    kind: 'sysfs',
    description: `sysfs base ${chip.base} [${chip.label}]`,
    input: (_name, line, activeLow) =>
      new OnoffDigitalInput({ sysfsNumber: sysfsGpioNumber(chip, line), activeLow, clock: options.clock }),
  }
}

/**
 * Picks the GPIO backend. auto: the libgpiod tools when gpiomon runs (works on Bookworm and Trixie),
 * else sysfs through onoff (older images); sysfs GPIO is deprecated and gone on Trixie.
 */
export async function selectGpioBackend(options: GpioBackendOptions): Promise<GpioBackend> {
  if (options.backend === 'gpiod') return gpiodBackend(options)
  if (options.backend === 'sysfs') return sysfsBackend(options)
  try {
    return await gpiodBackend(options)
  } catch (gpiodError) {
    try {
      return await sysfsBackend(options)
    } catch (sysfsError) {
      const why = (err: unknown) => (err instanceof Error ? err.message : String(err))
      throw new DoorbellError(
        'HARDWARE_UNAVAILABLE',
        `no GPIO backend works here. libgpiod: ${why(gpiodError)}. sysfs: ${why(sysfsError)}`,
        {
          cause: new AggregateError([gpiodError, sysfsError]),
        },
      )
    }
  }
}
