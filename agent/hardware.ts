import type { Clock } from './clock/clock.js'
import type { DigitalInput } from './gpio/digital-input.js'
import { SimulatedDigitalInput } from './gpio/simulated-digital-input.js'
import type { HealthProbe } from './health/health-probe.js'
import { SimulatedHealthProbe } from './health/health-probe.js'
import {
  type LightSensor,
  SimulatedLightSensor,
  SimulatedTemperatureSensor,
  type TemperatureSensor,
} from './sensors/sensor-ports.js'

/** Every hardware port the agent uses. A sensor left undefined is disabled. */
export interface AgentHardware {
  readonly button: DigitalInput
  readonly motion: DigitalInput
  readonly temperature?: TemperatureSensor | undefined
  readonly light?: LightSensor | undefined
  readonly health: HealthProbe
  /** Releases whatever the adapters hold (child processes, exported lines). */
  close?(): Promise<void>
}

/** The simulated twins, kept typed so the control endpoint can drive them. */
export interface SimulatedHardware extends AgentHardware {
  readonly button: SimulatedDigitalInput
  readonly motion: SimulatedDigitalInput
  readonly temperature: SimulatedTemperatureSensor
  readonly light: SimulatedLightSensor
  readonly health: SimulatedHealthProbe
}

/** Builds the simulated twin of every sensor (doorbell-agent --simulate). */
export function createSimulatedHardware(clock: Clock): SimulatedHardware {
  return {
    button: new SimulatedDigitalInput(clock),
    motion: new SimulatedDigitalInput(clock),
    temperature: new SimulatedTemperatureSensor(),
    light: new SimulatedLightSensor(),
    health: new SimulatedHealthProbe(),
  }
}
