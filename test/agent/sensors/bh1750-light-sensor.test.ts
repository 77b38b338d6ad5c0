import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Bh1750LightSensor, parseBh1750Output } from '../../../agent/sensors/bh1750-light-sensor.js'

const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

describe('BH1750', () => {
  it('converts the two bytes to lux (raw / 1.2)', () => {
    expect(parseBh1750Output('0x01 0x90\n')).toBe(333.3)
    expect(parseBh1750Output('0x00 0x00')).toBe(0)
    expect(() => parseBh1750Output('Error: Read failed')).toThrow(/unexpected BH1750 answer/)
  })

  it('powers on, starts a one-time measurement and reads two bytes with i2ctransfer', async () => {
    const binDir = await mkdtemp(join(tmpdir(), 'fake-i2c-'))
    dirs.push(binDir)
    await writeFile(
      join(binDir, 'i2ctransfer'),
      `#!/bin/sh\necho "$@" >> "${binDir}/calls"\ncase "$3" in r2@*) echo '0x01 0x90';; esac\n`,
    )
    await chmod(join(binDir, 'i2ctransfer'), 0o755)
    const sensor = new Bh1750LightSensor({ bus: 1, address: 0x23, binDir, sleep: async () => undefined })
    expect(await sensor.read()).toEqual({ lux: 333.3, sensor: 'bh1750@1/0x23' })
    expect((await readFile(join(binDir, 'calls'), 'utf8')).trim().split('\n')).toEqual([
      '-y 1 w1@0x23 0x01',
      '-y 1 w1@0x23 0x20',
      '-y 1 r2@0x23',
    ])
  })

  it('reports DEPENDENCY_MISSING without i2c-tools', async () => {
    const sensor = new Bh1750LightSensor({
      bus: 1,
      address: 0x23,
      binDir: '/nonexistent',
      sleep: async () => undefined,
    })
    await expect(sensor.read()).rejects.toMatchObject({ code: 'DEPENDENCY_MISSING' })
  })
})
