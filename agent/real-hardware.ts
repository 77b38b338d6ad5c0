import type { Clock } from './clock/clock.js'
import type { AgentConfig } from './config/agent-config.js'
import { selectGpioBackend } from './gpio/select-gpio-backend.js'
import type { AgentHardware } from './hardware.js'
import { LinuxHealthProbe } from './health/linux-health-probe.js'
import { Bh1750LightSensor } from './sensors/bh1750-light-sensor.js'
import { W1TemperatureSensor } from './sensors/ds18b20.js'

/** Builds the real adapters of a Raspberry Pi from config; throws HARDWARE_UNAVAILABLE when GPIO is absent. */
export async function createRealHardware(
  config: AgentConfig,
  deps: { clock: Clock; onInputExit?: (name: string, code: number | null) => void },
): Promise<AgentHardware> {
  const gpio = await selectGpioBackend({
    backend: config.gpio.backend,
    chipLabel: config.gpio.chipLabel,
    clock: deps.clock,
    ...(deps.onInputExit ? { onInputExit: deps.onInputExit } : {}),
  })
  const { button, motion } = config.gpio
  const { temperature, light } = config.sensors
  return {
    button: gpio.input('button', button.line, button.activeLow),
    motion: gpio.input('motion', motion.line, motion.activeLow),
    temperature: temperature.enabled ? new W1TemperatureSensor({ device: temperature.device }) : undefined,
    light: light.enabled ? new Bh1750LightSensor({ bus: light.i2cBus, address: light.address }) : undefined,
    health: new LinuxHealthProbe({ dataDir: config.dataDir }),
  }
}
