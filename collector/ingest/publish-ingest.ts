import type { Client, PublishPacket } from 'aedes'
import type { TopicKind } from '../../shared/protocol/index.js'
import { batchSteps } from './batch-ingest.js'
import { chunkSteps } from './chunk-ingest.js'
import { eventSteps } from './event-ingest.js'
import { liveSteps } from './live-ingest.js'
import {
  checkAccess,
  type InboundPublish,
  type IngestDeps,
  type IngestStep,
  runSteps,
} from './publish-steps.js'
import { statusSteps } from './status-ingest.js'

/** Refuses a publish on a topic only the collector publishes on (mqtt-rights.ts refuses it first). */
function refuseCollectorTopic(publish: InboundPublish, deps: IngestDeps): boolean {
  deps.onRejected('bad_topic', { clientId: publish.client?.id })
  deps.drop(publish.packet)
  return false
}

/** What happens to a device's publish, by the kind of its topic, once checkAccess has let it through. */
const stepsByKind: Readonly<Record<TopicKind, readonly IngestStep[]>> = {
  event: eventSteps,
  batch: batchSteps,
  chunk: chunkSteps,
  status: statusSteps,
  ack: [refuseCollectorTopic],
  command: [refuseCollectorTopic],
  live: liveSteps,
}

/** The ingest of the broker's authorizePublish hook. */
export interface PublishIngest {
  /** Runs the steps of one publish; never throws for bad input (each refusal is counted). */
  accept(client: Client | null, packet: PublishPacket): void
}

/**
 * Every publish from a client: checkAccess, then the steps of its topic's kind (event-ingest.ts,
 * batch-ingest.ts, chunk-ingest.ts, status-ingest.ts). A refused publish is acknowledged and dropped, never
 * disconnected (MQTT-3.3.5-2 allows either), so a device with one bad event does not loop reconnecting;
 * the device learns of it from the ack envelope.
 */
export function createPublishIngest(deps: IngestDeps): PublishIngest {
  const publish = {
    client: null,
    packet: undefined,
    principal: undefined,
    topic: undefined,
    payload: undefined,
    decoded: undefined,
    presence: 'online',
  } as unknown as InboundPublish
  return {
    accept(client, packet) {
      publish.client = client
      publish.packet = packet
      if (!checkAccess(publish, deps)) return
      runSteps(stepsByKind[publish.topic.kind], publish, deps)
    },
  }
}
