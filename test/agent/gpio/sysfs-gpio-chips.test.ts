import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ManualClock } from '../../../agent/clock/manual-clock.js'
import { OnoffDigitalInput } from '../../../agent/gpio/onoff-digital-input.js'
import { selectGpioBackend } from '../../../agent/gpio/select-gpio-backend.js'
import { listSysfsGpioChips, pickHeaderChip, sysfsGpioNumber } from '../../../agent/gpio/sysfs-gpio-chips.js'

const roots: string[] = []
afterEach(async () => {
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true })
})

/** Writes a fake /sys/class/gpio with the given chips. */
async function fakeSysfs(chips: Array<{ base: number; ngpio: number; label: string }>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'fake-sysfs-'))
  roots.push(root)
  await writeFile(join(root, 'export'), '')
  for (const chip of chips) {
    const dir = join(root, `gpiochip${chip.base}`)
    await mkdir(dir)
    await writeFile(join(dir, 'base'), `${chip.base}\n`)
    await writeFile(join(dir, 'ngpio'), `${chip.ngpio}\n`)
    await writeFile(join(dir, 'label'), `${chip.label}\n`)
  }
  return root
}

describe('sysfs GPIO chip resolution', () => {
  it('maps BCM 17 to 529 on a Pi 4 with kernel 6.6 (base 512)', async () => {
    const root = await fakeSysfs([
      { base: 512, ngpio: 58, label: 'pinctrl-bcm2711' },
      { base: 570, ngpio: 8, label: 'raspberrypi-exp-gpio' },
    ])
    const chip = pickHeaderChip(await listSysfsGpioChips(root))
    expect(chip.label).toBe('pinctrl-bcm2711')
    expect(sysfsGpioNumber(chip, 17)).toBe(529)
  })

  it('maps BCM 17 to 588 on a Pi 5 (pinctrl-rp1, base 571) and skips the other chips', async () => {
    const root = await fakeSysfs([
      { base: 512, ngpio: 32, label: 'gpio-brcmstb@107d508500' },
      { base: 544, ngpio: 4, label: 'gpio-brcmstb@107d508520' },
      { base: 571, ngpio: 54, label: 'pinctrl-rp1' },
    ])
    expect(sysfsGpioNumber(pickHeaderChip(await listSysfsGpioChips(root)), 17)).toBe(588)
  })

  it('keeps base 0 on an old kernel (Pi 3, pinctrl-bcm2835)', async () => {
    const root = await fakeSysfs([{ base: 0, ngpio: 54, label: 'pinctrl-bcm2835' }])
    expect(sysfsGpioNumber(pickHeaderChip(await listSysfsGpioChips(root)), 17)).toBe(17)
  })

  it('honours a configured label and names what it found when it is absent', async () => {
    const root = await fakeSysfs([{ base: 512, ngpio: 58, label: 'pinctrl-bcm2711' }])
    const chips = await listSysfsGpioChips(root)
    expect(() => pickHeaderChip(chips, 'pinctrl-rp1')).toThrow(/gpiochip512 \[pinctrl-bcm2711\]/)
  })

  it('refuses a line beyond the chip', async () => {
    const root = await fakeSysfs([{ base: 512, ngpio: 58, label: 'pinctrl-bcm2711' }])
    const chip = pickHeaderChip(await listSysfsGpioChips(root))
    expect(() => sysfsGpioNumber(chip, 58)).toThrow(/outside gpiochip512/)
  })

  it('reports HARDWARE_UNAVAILABLE when /sys/class/gpio is missing (Trixie) and gpiomon too', async () => {
    const missing = join(tmpdir(), 'no-such-sysfs')
    await expect(
      selectGpioBackend({
        backend: 'auto',
        clock: new ManualClock(),
        sysfsRoot: missing,
        tools: { binDir: join(tmpdir(), 'no-such-bin') },
      }),
    ).rejects.toMatchObject({ code: 'HARDWARE_UNAVAILABLE' })
    expect(await listSysfsGpioChips(missing)).toEqual([])
  })

  it('fails with HARDWARE_UNAVAILABLE, not a crash, when onoff or /sys/class/gpio is unusable', async () => {
    const input = new OnoffDigitalInput({ sysfsNumber: 529, activeLow: true, clock: new ManualClock() })
    const hasSysfsGpio = await listSysfsGpioChips().then((chips) => chips.length > 0)
    if (hasSysfsGpio) return
    await expect(input.start(() => undefined)).rejects.toMatchObject({ code: 'HARDWARE_UNAVAILABLE' })
  })

  it('picks sysfs when the gpiod tools are missing', async () => {
    const root = await fakeSysfs([{ base: 512, ngpio: 58, label: 'pinctrl-bcm2711' }])
    const backend = await selectGpioBackend({
      backend: 'auto',
      clock: new ManualClock(),
      sysfsRoot: root,
      tools: { binDir: join(tmpdir(), 'no-such-bin') },
    })
    expect(backend.kind).toBe('sysfs')
    expect(backend.description).toBe('sysfs base 512 [pinctrl-bcm2711]')
  })
})
