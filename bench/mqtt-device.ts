import mqtt, { type MqttClient } from 'mqtt'

/**
 * One simulated device of the MQTT benchmarks: an MQTT 3.1.1 client with a clean session, no automatic
 * reconnect, and TCP_NODELAY (Nagle and delayed ACKs add tens of ms to small packets, RECIPES.md; the
 * brokers set it too). Resolves on CONNACK 0, rejects on the first error.
 */
export async function connectBenchDevice(port: number, id: string, password: string): Promise<MqttClient> {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
    clientId: id,
    username: id,
    password,
    clean: true,
    reconnectPeriod: 0,
    protocolVersion: 4,
  })
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve())
    client.once('error', reject)
  })
  ;(client.stream as unknown as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true)
  return client
}
