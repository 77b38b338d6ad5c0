import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DoorbellError } from '../../shared/errors.js'
import type { TemperatureReading, TemperatureSensor } from './sensor-ports.js'

/** Dallas/Maxim 1-wire CRC-8 (polynomial x^8 + x^5 + x^4 + 1, reflected 0x8C, initial 0). */
export function dallasCrc8(bytes: readonly number[]): number {
  let crc = 0
  for (const byte of bytes) {
    let b = byte
    for (let i = 0; i < 8; i++) {
      const mix = (crc ^ b) & 1
      crc >>= 1
      if (mix) crc ^= 0x8c
      b >>= 1
    }
  }
  return crc
}

/** Why a w1_slave file was refused. */
export type W1ParseProblem = 'format' | 'crc' | 'power-on-reset'

/** Result of parsing w1_slave: a temperature, or the reason there is none. */
export type W1ParseResult = { ok: true; celsius: number } | { ok: false; problem: W1ParseProblem }

/**
 * Parses a DS18B20 w1_slave file:
 *   72 01 4b 46 7f ff 0e 10 57 : crc=57 YES
 *   72 01 4b 46 7f ff 0e 10 57 t=23125
 * The CRC is checked here over the 9 scratchpad bytes, not only the kernel's YES, and 85.000 C with the
 * power-on scratchpad (reset value, no conversion happened) is refused.
 */
export function parseW1Slave(text: string): W1ParseResult {
  const [first, second] = text.trim().split('\n')
  const crcLine = /^((?:[0-9a-f]{2} ){9}): crc=([0-9a-f]{2}) (YES|NO)$/i.exec(first?.trim() ?? '')
  const tempLine = /^((?:[0-9a-f]{2} ){9})t=(-?\d+)$/i.exec(second?.trim() ?? '')
  if (!crcLine?.[1] || !tempLine?.[2]) return { ok: false, problem: 'format' }
  const bytes = crcLine[1]
    .trim()
    .split(' ')
    .map((h) => Number.parseInt(h, 16))
  if (crcLine[3]?.toUpperCase() !== 'YES' || dallasCrc8(bytes.slice(0, 8)) !== bytes[8]) {
    return { ok: false, problem: 'crc' }
  }
  const milli = Number(tempLine[2])
  // 0x0550 = 85.0 C with reserved bytes ff ?? 10: the scratchpad's power-on value.
  if (milli === 85_000 && bytes[0] === 0x50 && bytes[1] === 0x05)
    return { ok: false, problem: 'power-on-reset' }
  return { ok: true, celsius: milli / 1000 }
}

/** Options of the 1-wire sensor; devicesDir is replaceable for tests. */
export interface W1TemperatureSensorOptions {
  /** 28-xxxxxxxxxxxx; the first 28-* device when absent. */
  readonly device?: string | undefined
  readonly devicesDir?: string
  /** Reads retried after a CRC error before giving up (a noisy long cable). */
  readonly retries?: number
}

/** A DS18B20 on the 1-wire bus through the kernel's w1-therm driver (dtoverlay=w1-gpio, GPIO 4). */
export class W1TemperatureSensor implements TemperatureSensor {
  readonly #devicesDir: string

  readonly #options: W1TemperatureSensorOptions

  constructor(options: W1TemperatureSensorOptions = {}) {
    this.#options = options
    this.#devicesDir = options.devicesDir ?? '/sys/bus/w1/devices'
  }

  async read(): Promise<TemperatureReading> {
    const device = this.#options.device ?? (await this.#firstDevice())
    const file = join(this.#devicesDir, device, 'w1_slave')
    let last: W1ParseResult = { ok: false, problem: 'format' }
    for (let attempt = 0; attempt <= (this.#options.retries ?? 2); attempt++) {
      let text: string
      try {
        text = await readFile(file, 'utf8')
      } catch (err) {
        throw new DoorbellError('HARDWARE_UNAVAILABLE', `cannot read ${file}`, { cause: err })
      }
      last = parseW1Slave(text)
      if (last.ok) return { celsius: last.celsius, sensor: device }
    }
    throw new DoorbellError('HARDWARE_UNAVAILABLE', `${file}: ${last.ok ? '' : last.problem}`, {
      details: { path: file },
    })
  }

  async #firstDevice(): Promise<string> {
    const names = await readdir(this.#devicesDir).catch(() => [] as string[])
    const device = names.filter((n) => n.startsWith('28-')).sort()[0]
    if (!device) {
      throw new DoorbellError(
        'HARDWARE_UNAVAILABLE',
        `no DS18B20 (28-*) in ${this.#devicesDir}: enable dtoverlay=w1-gpio`,
      )
    }
    return device
  }
}
