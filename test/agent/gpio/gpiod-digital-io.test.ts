import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { SystemClock } from '../../../agent/clock/clock.js'
import { GpiodDigitalOutput } from '../../../agent/gpio/gpiod-digital-io.js'
import { parseGpiodetect, parseGpiodVersion, parseGpiomonLine } from '../../../agent/gpio/gpiod-tools.js'
import { selectGpioBackend } from '../../../agent/gpio/select-gpio-backend.js'
import { eventually } from '../../support/eventually.js'

const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

const formats = {
  1: {
    version: 'gpiomon (libgpiod) v1.6.3',
    rising: 'event:  RISING EDGE offset: 17 timestamp: [1700000000.000000001]',
    falling: 'event: FALLING EDGE offset: 17 timestamp: [1700000000.100000001]',
  },
  2: {
    version: 'gpiomon (libgpiod) v2.1.3',
    rising: '1700000000.000000001\trising\tgpiochip0 17',
    falling: '1700000000.100000001\tfalling\tgpiochip0 17',
  },
} as const

/** Fake gpiomon, gpioset and gpiodetect printing the given libgpiod version's formats. */
async function fakeTools(major: 1 | 2): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `fake-gpiod${major}-`))
  dirs.push(dir)
  const f = formats[major]
  const script = (body: string) => `#!/bin/sh\n${body}\n`
  await writeFile(
    join(dir, 'gpiomon'),
    script(`[ "$1" = "--version" ] && { echo '${f.version}'; exit 0; }
echo "$@" > "${dir}/gpiomon.args"
printf '%s\\n' '${f.falling}' '${f.rising}'
exec sleep 30`),
  )
  await writeFile(join(dir, 'gpioset'), script(`echo "$@" >> "${dir}/gpioset.args"\nexec sleep 30`))
  await writeFile(
    join(dir, 'gpiodetect'),
    script(
      `echo 'gpiochip0 [pinctrl-bcm2711] (58 lines)'\necho 'gpiochip1 [raspberrypi-exp-gpio] (8 lines)'`,
    ),
  )
  for (const tool of ['gpiomon', 'gpioset', 'gpiodetect']) await chmod(join(dir, tool), 0o755)
  return dir
}

describe('parsing libgpiod tool output', () => {
  it('reads the version of 1.6 and 2.x', () => {
    expect(parseGpiodVersion(formats[1].version)).toBe(1)
    expect(parseGpiodVersion(formats[2].version)).toBe(2)
    expect(parseGpiodVersion('nonsense')).toBeUndefined()
  })

  it('reads edges in both default formats', () => {
    expect(parseGpiomonLine(formats[1].rising)).toBe('rising')
    expect(parseGpiomonLine(formats[1].falling)).toBe('falling')
    expect(parseGpiomonLine(formats[2].rising)).toBe('rising')
    expect(parseGpiomonLine('1700000000.1 falling "GPIO17"')).toBe('falling')
    expect(parseGpiomonLine('Press ^C to exit')).toBeUndefined()
  })

  it('reads gpiodetect', () => {
    expect(parseGpiodetect('gpiochip4 [pinctrl-rp1] (54 lines)\n')).toEqual([
      { name: 'gpiochip4', label: 'pinctrl-rp1', lines: 54 },
    ])
  })
})

for (const major of [1, 2] as const) {
  describe(`gpiod backend with libgpiod ${major === 1 ? '1.6' : '2.x'} tools`, () => {
    it('is picked automatically and reports edges, inverted for an active-low button', async () => {
      const binDir = await fakeTools(major)
      const backend = await selectGpioBackend({
        backend: 'auto',
        clock: new SystemClock(),
        tools: { binDir },
      })
      expect(backend.description).toBe(`gpiod ${major === 1 ? '1.6' : '2.x'} on gpiochip0 [pinctrl-bcm2711]`)
      const input = backend.input('button', 17, true)
      const levels: boolean[] = []
      await input.start((isActive) => levels.push(isActive))
      await eventually(() => levels.length === 2, 'two edges', 5_000)
      await input.close()
      expect(levels).toEqual([true, false])
      const args = (await readFile(join(binDir, 'gpiomon.args'), 'utf8')).trim()
      expect(args).toBe(
        major === 1 ? '--line-buffered --bias=pull-up gpiochip0 17' : '--bias=pull-up --chip gpiochip0 17',
      )
    })

    it('holds an output with gpioset in the syntax of the version', async () => {
      const binDir = await fakeTools(major)
      const output = new GpiodDigitalOutput({
        tools: { binDir },
        syntax: major,
        chip: 'gpiochip0',
        line: 22,
        activeLow: false,
      })
      await output.write(true)
      await eventually(
        async () => (await readFile(join(binDir, 'gpioset.args'), 'utf8').catch(() => '')) !== '',
        'gpioset',
      )
      await output.close()
      const args = (await readFile(join(binDir, 'gpioset.args'), 'utf8')).trim()
      expect(args).toBe(major === 1 ? '--mode=signal gpiochip0 22=1' : '--chip gpiochip0 22=1')
    })
  })
}
