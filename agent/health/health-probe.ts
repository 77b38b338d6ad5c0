/** What the host says about itself for the health heartbeat; null where not available. */
export interface HostHealth {
  readonly cpuTempC: number | null
  readonly diskFreeBytes: number | null
  readonly wifiRssiDbm: number | null
}

/** The health port: LinuxHealthProbe (/sys, /proc, statfs) and SimulatedHealthProbe. */
export interface HealthProbe {
  read(): Promise<HostHealth>
}

/** The simulated twin: fixed, plausible values. */
export class SimulatedHealthProbe implements HealthProbe {
  value: HostHealth = { cpuTempC: 45, diskFreeBytes: 8_000_000_000, wifiRssiDbm: -58 }

  async read(): Promise<HostHealth> {
    return this.value
  }
}
