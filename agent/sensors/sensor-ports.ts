/** One temperature reading in degrees Celsius, and the sensor's name. */
export interface TemperatureReading {
  readonly celsius: number
  readonly sensor: string
}

/** One illuminance reading in lux, and the sensor's name. */
export interface LightReading {
  readonly lux: number
  readonly sensor: string
}

/** The temperature port: W1TemperatureSensor (DS18B20) and SimulatedTemperatureSensor. */
export interface TemperatureSensor {
  read(): Promise<TemperatureReading>
}

/** The light port: Bh1750LightSensor (I2C via i2c-tools) and SimulatedLightSensor. */
export interface LightSensor {
  read(): Promise<LightReading>
}

/** The simulated twin of the temperature sensor; `celsius` is set from the control endpoint. */
export class SimulatedTemperatureSensor implements TemperatureSensor {
  celsius = 20

  async read(): Promise<TemperatureReading> {
    return { celsius: this.celsius, sensor: 'simulated-ds18b20' }
  }
}

/** The simulated twin of the light sensor; `lux` is set from the control endpoint. */
export class SimulatedLightSensor implements LightSensor {
  lux = 250

  async read(): Promise<LightReading> {
    return { lux: this.lux, sensor: 'simulated-bh1750' }
  }
}
