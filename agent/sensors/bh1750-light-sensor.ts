import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { DoorbellError } from '../../shared/errors.js'
import type { LightReading, LightSensor } from './sensor-ports.js'

/** BH1750 opcodes (datasheet): power on, and one-time high-resolution mode (1 lx, 120-180 ms). */
const powerOn = 0x01
const oneTimeHighRes = 0x20
/** Worst-case measurement time in one-time high-resolution mode, datasheet table "Measurement Mode". */
const measurementMs = 180

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`
}

/** Parses i2ctransfer's read output ("0x01 0x90") into lux: raw / 1.2 (datasheet, MTreg 69). */
export function parseBh1750Output(text: string): number {
  const bytes = text
    .trim()
    .split(/\s+/)
    .map((h) => Number.parseInt(h, 16))
  if (bytes.length !== 2 || bytes.some((b) => !Number.isInteger(b) || b < 0 || b > 255)) {
    throw new DoorbellError('HARDWARE_UNAVAILABLE', `unexpected BH1750 answer ${JSON.stringify(text.trim())}`)
  }
  const raw = ((bytes[0] ?? 0) << 8) | (bytes[1] ?? 0)
  return Math.round((raw / 1.2) * 10) / 10
}

/** Options of the BH1750; binDir replaces i2c-tools' location in tests. */
export interface Bh1750Options {
  readonly bus: number
  /** 0x23 (ADDR low) or 0x5c (ADDR high). */
  readonly address: number
  readonly binDir?: string | undefined
  /** Waits the measurement time; replaceable so tests do not sleep. */
  readonly sleep?: (ms: number) => Promise<void>
}

/**
 * A BH1750 ambient light sensor on I2C, driven with i2c-tools' i2ctransfer (no native addon): a one-time
 * high-resolution measurement, then a 2-byte read. Wiring in docs/agent-hardware.md.
 */
export class Bh1750LightSensor implements LightSensor {
  readonly #options: Bh1750Options

  constructor(options: Bh1750Options) {
    this.#options = options
  }

  async read(): Promise<LightReading> {
    const address = `0x${this.#options.address.toString(16)}`
    await this.#transfer([`w1@${address}`, hex(powerOn)])
    await this.#transfer([`w1@${address}`, hex(oneTimeHighRes)])
    await (this.#options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))))(measurementMs)
    const lux = parseBh1750Output(await this.#transfer([`r2@${address}`]))
    return { lux, sensor: `bh1750@${this.#options.bus}/${address}` }
  }

  #transfer(messages: readonly string[]): Promise<string> {
    const file = this.#options.binDir ? join(this.#options.binDir, 'i2ctransfer') : 'i2ctransfer'
    return new Promise((resolve, reject) => {
      execFile(file, ['-y', String(this.#options.bus), ...messages], { timeout: 2_000 }, (err, stdout) => {
        if (err) {
          const missing = (err as NodeJS.ErrnoException).code === 'ENOENT'
          reject(
            missing
              ? new DoorbellError('DEPENDENCY_MISSING', 'i2ctransfer (apt-get install i2c-tools)', {
                  cause: err,
                })
              : new DoorbellError('HARDWARE_UNAVAILABLE', `BH1750 on i2c-${this.#options.bus}`, {
                  cause: err,
                }),
          )
        } else resolve(stdout)
      })
    })
  }
}
