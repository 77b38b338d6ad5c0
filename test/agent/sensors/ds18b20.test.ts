import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { dallasCrc8, parseW1Slave, W1TemperatureSensor } from '../../../agent/sensors/ds18b20.js'

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname
const read = (name: string) => readFile(fixture(name), 'utf8')

const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

describe('DS18B20 w1_slave parsing', () => {
  it('computes the Dallas CRC-8 of a scratchpad', () => {
    expect(dallasCrc8([0x72, 0x01, 0x4b, 0x46, 0x7f, 0xff, 0x0e, 0x10])).toBe(0x57)
  })

  it('reads 23.125 C from a file with a good CRC', async () => {
    expect(parseW1Slave(await read('w1-good.txt'))).toEqual({ ok: true, celsius: 23.125 })
  })

  it('reads a negative temperature', async () => {
    expect(parseW1Slave(await read('w1-negative.txt'))).toEqual({ ok: true, celsius: -10.125 })
  })

  it('refuses a scratchpad whose CRC does not match even when the kernel says YES', async () => {
    expect(parseW1Slave(await read('w1-bad-crc.txt'))).toEqual({ ok: false, problem: 'crc' })
  })

  it('refuses a read the kernel marked NO', async () => {
    expect(parseW1Slave(await read('w1-kernel-no.txt'))).toEqual({ ok: false, problem: 'crc' })
  })

  it('refuses the 85 C power-on reset value', async () => {
    expect(parseW1Slave(await read('w1-power-on.txt'))).toEqual({ ok: false, problem: 'power-on-reset' })
  })

  it('refuses a truncated file', () => {
    expect(parseW1Slave('72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n')).toEqual({
      ok: false,
      problem: 'format',
    })
  })
})

describe('W1TemperatureSensor', () => {
  async function devices(files: Record<string, string>): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'fake-w1-'))
    dirs.push(dir)
    for (const [device, name] of Object.entries(files)) {
      await mkdir(join(dir, device))
      await copyFile(fixture(name), join(dir, device, 'w1_slave'))
    }
    await mkdir(join(dir, 'w1_bus_master1'))
    return dir
  }

  it('reads the first 28-* device when none is configured', async () => {
    const devicesDir = await devices({ '28-0316a279d4ff': 'w1-good.txt' })
    expect(await new W1TemperatureSensor({ devicesDir }).read()).toEqual({
      celsius: 23.125,
      sensor: '28-0316a279d4ff',
    })
  })

  it('fails with HARDWARE_UNAVAILABLE after repeated CRC errors', async () => {
    const devicesDir = await devices({ '28-0316a279d4ff': 'w1-bad-crc.txt' })
    await expect(new W1TemperatureSensor({ devicesDir }).read()).rejects.toMatchObject({
      code: 'HARDWARE_UNAVAILABLE',
      message: expect.stringContaining('crc'),
    })
  })

  it('says how to enable 1-wire when no sensor is present', async () => {
    const devicesDir = await devices({})
    await expect(new W1TemperatureSensor({ devicesDir }).read()).rejects.toThrow(/dtoverlay=w1-gpio/)
  })
})
