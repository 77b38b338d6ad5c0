/** Called on every raw level change of an input, already corrected for active-low wiring. */
export type LevelListener = (isActive: boolean, atMs: number) => void

/**
 * The GPIO input port: one line, reporting raw (not debounced) level changes. Adapters: GpiodDigitalInput
 * (gpiomon), OnoffDigitalInput (sysfs) and SimulatedDigitalInput.
 */
export interface DigitalInput {
  /** Starts watching; the listener sees every change until close(). */
  start(listener: LevelListener): Promise<void>
  close(): Promise<void>
}

/** The GPIO output port (a chime relay or an LED): GpiodDigitalOutput (gpioset) and a simulated one. */
export interface DigitalOutput {
  write(isActive: boolean): Promise<void>
  close(): Promise<void>
}
