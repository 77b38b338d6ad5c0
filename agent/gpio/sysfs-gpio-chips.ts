import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DoorbellError } from '../../shared/errors.js'

/** One GPIO chip as sysfs describes it. */
export interface SysfsGpioChip {
  /** e.g. gpiochip512 */
  readonly name: string
  /** First sysfs GPIO number of the chip: 0 on old kernels, 512 (Pi 0-4) or 571 (Pi 5) on 6.6+. */
  readonly base: number
  readonly ngpio: number
  readonly label: string
}

/** Labels of the chips that drive the 40-pin header, newest Pi first. */
export const headerChipLabels = [
  'pinctrl-rp1',
  'pinctrl-bcm2712',
  'pinctrl-bcm2711',
  'pinctrl-bcm2835',
] as const

/** Lists /sys/class/gpio/gpiochip* with base, ngpio and label; [] when sysfs GPIO is absent (Trixie). */
export async function listSysfsGpioChips(root = '/sys/class/gpio'): Promise<SysfsGpioChip[]> {
  let names: string[]
  try {
    names = (await readdir(root)).filter((n) => /^gpiochip\d+$/.test(n))
  } catch {
    return []
  }
  const chips = await Promise.all(
    names.map(async (name) => {
      const read = (file: string) => readFile(join(root, name, file), 'utf8').then((s) => s.trim())
      const [base, ngpio, label] = await Promise.all([read('base'), read('ngpio'), read('label')])
      return { name, base: Number(base), ngpio: Number(ngpio), label }
    }),
  )
  return chips.sort((a, b) => a.base - b.base)
}

/**
 * Picks the chip of the header: the one with the configured label, else the first known Pi header label.
 * Never assumes a base: kernel 6.6 moved it from 0 to 512 or 571 (onoff issues #199, #200).
 */
export function pickHeaderChip(chips: readonly SysfsGpioChip[], label?: string): SysfsGpioChip {
  const wanted = label ? [label] : headerChipLabels
  for (const want of wanted) {
    const chip = chips.find((c) => c.label === want)
    if (chip) return chip
  }
  throw new DoorbellError(
    'HARDWARE_UNAVAILABLE',
    `no GPIO chip labelled ${wanted.join(' or ')}; found ${chips.map((c) => `${c.name} [${c.label}]`).join(', ') || 'none'}`,
    { details: { field: 'gpio.chipLabel' } },
  )
}

/** The sysfs GPIO number of a line offset on a chip (what onoff's Gpio constructor takes). */
export function sysfsGpioNumber(chip: SysfsGpioChip, line: number): number {
  if (line < 0 || line >= chip.ngpio) {
    throw new DoorbellError(
      'HARDWARE_UNAVAILABLE',
      `line ${line} is outside ${chip.name} (${chip.ngpio} lines)`,
      {
        details: { field: 'gpio.line' },
      },
    )
  }
  return chip.base + line
}
