import { readFile, statfs } from 'node:fs/promises'
import { join } from 'node:path'
import type { HealthProbe, HostHealth } from './health-probe.js'

/** Where the probe reads; tests point sysRoot and procRoot at fake trees. */
export interface LinuxHealthProbeOptions {
  /** Folder whose free space is reported (the outbox's disk). */
  readonly dataDir: string
  readonly sysRoot?: string
  readonly procRoot?: string
}

/** Parses /proc/net/wireless: the signal level (dBm) of the first interface, or null. */
export function parseWirelessSignalDbm(text: string): number | null {
  for (const line of text.split('\n').slice(2)) {
    const match = /^\s*[\w.-]+:\s+\S+\s+(-?[\d.]+)\s+(-?[\d.]+)/.exec(line)
    if (!match) continue
    const level = Number.parseFloat(match[2] ?? '')
    if (!Number.isFinite(level)) continue
    // Some drivers report an unsigned byte (e.g. 200 = -56 dBm).
    const dbm = level > 0 ? level - 256 : level
    return dbm >= -130 && dbm <= 0 ? dbm : null
  }
  return null
}

/** Reads CPU temperature (thermal_zone0), free disk (statfs) and Wi-Fi signal (/proc/net/wireless). */
export class LinuxHealthProbe implements HealthProbe {
  readonly #sysRoot: string
  readonly #procRoot: string

  readonly #options: LinuxHealthProbeOptions

  constructor(options: LinuxHealthProbeOptions) {
    this.#options = options
    this.#sysRoot = options.sysRoot ?? '/sys'
    this.#procRoot = options.procRoot ?? '/proc'
  }

  async read(): Promise<HostHealth> {
    const [cpuTempC, diskFreeBytes, wifiRssiDbm] = await Promise.all([
      this.#cpuTempC(),
      this.#diskFreeBytes(),
      this.#wifiRssiDbm(),
    ])
    return { cpuTempC, diskFreeBytes, wifiRssiDbm }
  }

  async #cpuTempC(): Promise<number | null> {
    try {
      const milli = Number.parseInt(
        await readFile(join(this.#sysRoot, 'class/thermal/thermal_zone0/temp'), 'utf8'),
        10,
      )
      const celsius = Math.round(milli / 100) / 10
      return Number.isFinite(celsius) && celsius >= -60 && celsius <= 150 ? celsius : null
    } catch {
      return null
    }
  }

  async #diskFreeBytes(): Promise<number | null> {
    try {
      const stats = await statfs(this.#options.dataDir)
      return stats.bavail * stats.bsize
    } catch {
      return null
    }
  }

  async #wifiRssiDbm(): Promise<number | null> {
    try {
      return parseWirelessSignalDbm(await readFile(join(this.#procRoot, 'net/wireless'), 'utf8'))
    } catch {
      return null
    }
  }
}
