import type { EventEmitter } from 'node:events'

/** What the uplink reports; the sender and main.ts listen. */
export interface UplinkEvents {
  /** Connected and subscribed to ack and command: publishing may start. */
  online: []
  /** The connection is gone; a reconnect is scheduled after delayMs. */
  offline: [delayMs: number]
  /** A message on the device's ack or command topic. */
  message: [kind: 'ack' | 'command', payload: Buffer]
  /** A connection attempt or a connection failed; the uplink keeps retrying. */
  connectionError: [error: Error]
}

/**
 * The uplink port: a connection to the collector that reconnects by itself. Adapters: MqttUplink (MQTT.js)
 * and LoopbackUplink (simulated collector in process).
 */
export interface Uplink extends EventEmitter<UplinkEvents> {
  /** True between `online` and `offline`. */
  readonly isOnline: boolean
  /** Bytes written to the connection and not yet taken by the OS (0 when unknown); paces low-class uploads. */
  readonly queuedBytes?: number
  /** Starts connecting; resolves at once, `online` follows. */
  start(): void
  /** Publishes at QoS 1. Resolves on PUBACK, which only means the broker has it (not stored: docs/protocol.md). */
  publish(topic: string, payload: Buffer): Promise<void>
  /** Publishes the retained offline status and disconnects after in-flight packets are written. */
  close(): Promise<void>
}
