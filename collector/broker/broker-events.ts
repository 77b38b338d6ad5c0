import type { EventEmitter } from 'node:events'
import type { Client, Subscription } from 'aedes'
import type { CollectorEvent } from '../events/collector-event.js'
import type { RejectReason } from '../ingest/ingest-item.js'
import type { DoorbellBroker } from './doorbell-broker.js'
import { isParserError } from './mqtt-errors.js'

/** Where the broker's events go: the bus, and the rejection metric. */
export interface BrokerEventsDeps {
  readonly emit: (event: CollectorEvent) => void
  readonly reject: (reason: RejectReason, detail?: { clientId?: string }) => void
}

/** Turns what aedes emits (connections, client errors, service subscriptions, failures) into bus events. */
export function reportBrokerEvents(broker: DoorbellBroker, deps: BrokerEventsDeps): void {
  const { aedes } = broker
  const { emit, reject } = deps
  aedes.on('clientReady', (client: Client) => emit({ kind: 'client_connected', clientId: client.id }))
  aedes.on('clientDisconnect', (client: Client) => emit({ kind: 'client_disconnected', clientId: client.id }))
  aedes.on('clientError', (client: Client, err: Error) => {
    if (isParserError(err)) reject('malformed_packet', { clientId: client.id })
    emit({ kind: 'client_error', clientId: client.id, err })
  })
  aedes.on('connectionError', (_client: Client, err: Error) => {
    if (isParserError(err)) reject('malformed_packet')
  })
  // Emitted after the subscriptions are in place: what is published now reaches the new subscriber.
  aedes.on('subscribe', (subscriptions: Subscription[], client: Client) => {
    const principal = broker.principalOf(client)
    if (principal?.kind !== 'service') return
    // aedes reports a refused filter with qos 128 (SUBACK failure, MQTT 3.1.1 section 3.9.3).
    const filters = subscriptions.filter((s) => (s.qos as number) !== 128).map((s) => s.topic)
    if (filters.length > 0)
      emit({ kind: 'service_subscribed', user: principal.name, clientId: client.id, filters })
  })
  // aedes emits 'error' for persistence failures; unhandled, an EventEmitter 'error' would end the process.
  const brokerEvents: EventEmitter = aedes
  brokerEvents.on('error', (err: Error) => emit({ kind: 'task_failed', task: 'broker', err }))
}
