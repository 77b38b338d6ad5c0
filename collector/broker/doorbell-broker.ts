import { TLSSocket } from 'node:tls'
import { Aedes, type AedesPublishPacket, type Client, type PublishPacket, type Subscription } from 'aedes'
import { statusPayload, topics } from '../../shared/protocol/index.js'
import { type DecodedPublish, itemId, type RejectReason } from '../ingest/ingest-item.js'
import { decodePublish } from '../ingest/publish-decoder.js'
import type { IdentityRegistry, Principal } from '../registry/identity-registry.js'
import { checkPublish, isClientIdAllowed, isSubscribeAllowed } from './access-policy.js'
import { ConcurrencyGate } from './concurrency-gate.js'
import { MqttPacketLimiter } from './mqtt-packet-limiter.js'
import type { TokenBucketRateLimiter } from './token-bucket.js'

/** Collaborators of the broker's hooks. */
export interface DoorbellBrokerDeps {
  readonly registry: IdentityRegistry
  readonly rateLimiter: TokenBucketRateLimiter
  readonly connectTimeoutMs: number
  /** Counts a refusal (the rejection metric). */
  readonly onRejected: (reason: RejectReason, detail: { clientId?: string; deviceId?: string }) => void
  /** Receives what a device published on its event, batch or chunk topic, already decoded. */
  readonly onIngest: (decoded: DecodedPublish) => void
  /** A device's presence changed (status topic, or its last will). */
  readonly onPresence: (deviceId: string, state: 'online' | 'offline') => void
  readonly now?: () => number
  /**
   * aedes' message bus and persistence; default in memory (one node). A fleet passes Redis-backed ones
   * (collector/fleet/redis-broker-engines.ts) so the brokers of every node act as one.
   */
  readonly engines?: { readonly mq: unknown; readonly persistence: unknown }
}

type AuthError = Error & { returnCode: number }

function authError(message: string, returnCode: number): AuthError {
  return Object.assign(new Error(message), { returnCode })
}

/** CONNACK return codes of MQTT 3.1.1 (section 3.2.2.3). */
const connack = { identifierRejected: 2, serverUnavailable: 3, badCredentials: 4, notAuthorized: 5 } as const

/** The aedes broker with the doorbell's policies as its hooks, and who each client is. */
export interface DoorbellBroker {
  readonly aedes: Aedes
  principalOf(client: Client): Principal | undefined
  /** Disconnects clients whose device was disabled or removed since they connected. */
  cutRevokedClients(): number
  close(): Promise<void>
}

/**
 * Builds the broker. Every policy is an aedes hook: preConnect/authenticate (identity, client id rules),
 * authorizePublish (ACL, rate limit, decode and hand to ingest), authorizeSubscribe (ACL, SUBACK 0x80).
 * A refused publish is acknowledged and dropped, never disconnected (MQTT-3.3.5-2 allows either), so a
 * device with one bad event does not loop reconnecting; the device learns of it from the ack envelope.
 */
export async function createDoorbellBroker(deps: DoorbellBrokerDeps): Promise<DoorbellBroker> {
  const now = deps.now ?? Date.now
  const principals = new WeakMap<Client, Principal>()
  const emptyIdClients = new WeakSet<Client>()
  const loginGate = new ConcurrencyGate(2, 64)
  let droppedTopic = '$SYS/doorbell/dropped'

  /** Routes a refused publish nowhere: no client may subscribe to $SYS, and nothing is retained. */
  function drop(packet: PublishPacket): void {
    packet.topic = droppedTopic
    packet.retain = false
  }

  const aedes = await Aedes.createBroker({
    ...(deps.engines ? { mq: deps.engines.mq as never, persistence: deps.engines.persistence } : {}),
    connectTimeout: deps.connectTimeoutMs,
    preConnect(client, packet, callback) {
      // MQTT-3.1.3-8: an empty client id requires clean session; aedes would invent an id instead.
      if (!packet.clientId && !packet.clean) emptyIdClients.add(client)
      callback(null, true)
    },
    authenticate(client, username, password, done) {
      if (emptyIdClients.has(client)) {
        deps.onRejected('client_id_rejected', {})
        return done(authError('empty client id needs clean session', connack.identifierRejected), null)
      }
      void authenticate(client, username, password).then(
        (principal) => {
          if (typeof principal === 'number') return done(authError('refused', principal), null)
          principals.set(client, principal)
          done(null, true)
        },
        () => done(authError('server error', connack.serverUnavailable), null),
      )
    },
    authorizePublish(client, packet, callback) {
      try {
        authorizePublish(client, packet)
        callback(null)
      } catch (err) {
        callback(err as Error)
      }
    },
    authorizeSubscribe(client, subscription, callback) {
      const principal = principals.get(client)
      if (principal && isSubscribeAllowed(principal, subscription.topic)) return callback(null, subscription)
      deps.onRejected('subscribe_refused', { clientId: client.id })
      // A null subscription makes aedes answer SUBACK 0x80 for this filter and keep the connection.
      callback(null, null as unknown as Subscription)
    },
  })
  droppedTopic = `$SYS/${aedes.id}/doorbell/dropped`
  // The device's own session subscribes to its ack and command topics as soon as it is connected, so an
  // ack is never published into the gap between CONNACK and the agent's SUBSCRIBE (after a collector
  // restart its old session is gone, and the agent resends before it resubscribes). Server-side
  // subscriptions send no SUBACK; the agent's own SUBSCRIBE to the same filters simply replaces them.
  aedes.on('clientReady', (client) => {
    const principal = principals.get(client)
    if (principal?.kind !== 'device' || client.id !== principal.deviceId) return
    client.subscribe(
      [
        { topic: topics.ack(principal.deviceId), qos: 1 },
        { topic: topics.command(principal.deviceId), qos: 1 },
      ],
      () => {},
    )
  })
  aedes.on('connectionError', (_client, err) => {
    if (err.message === 'connect did not arrive in time') deps.onRejected('connect_timeout', {})
  })

  async function authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<Principal | number> {
    let principal: Principal | undefined
    const socket = client.conn instanceof MqttPacketLimiter ? client.conn.socket : client.conn
    if (socket instanceof TLSSocket && socket.authorized) {
      // Client certificate signed by mqtt.tls.caFile: its CN is the device id (docs/collector.md).
      const cn = socket.getPeerCertificate().subject?.CN
      if (typeof cn === 'string' && deps.registry.isDeviceEnabled(cn) && (!username || username === cn)) {
        principal = { kind: 'device', deviceId: cn }
      }
    }
    if (!principal) {
      if (!username || !password) {
        deps.onRejected('auth_failed', { clientId: client.id })
        return connack.notAuthorized
      }
      const checked = await loginGate.run(async () => ({
        principal: await deps.registry.authenticate(username, password.toString('utf8')),
      }))
      if (!checked) {
        deps.onRejected('auth_busy', { clientId: client.id })
        return connack.serverUnavailable
      }
      principal = checked.principal
      if (!principal) {
        deps.onRejected('auth_failed', { clientId: client.id })
        return connack.badCredentials
      }
    }
    if (!isClientIdAllowed(principal, client.id)) {
      deps.onRejected('client_id_rejected', { clientId: client.id })
      return connack.identifierRejected
    }
    return principal
  }

  function authorizePublish(client: Client | null, packet: PublishPacket): void {
    // A will left by a client of a previous broker run has no client; only presence wills are honoured.
    const principal = client ? principals.get(client) : undefined
    if (!principal) {
      if (client === null && packet.topic.endsWith('/status')) return
      drop(packet)
      return
    }
    const checked = checkPublish(principal, packet.topic)
    if ('refusal' in checked) {
      deps.onRejected(checked.refusal, { clientId: client?.id })
      drop(packet)
      return
    }
    const { topic } = checked
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload)
    if (topic.kind === 'status') {
      const status = parseStatus(payload)
      if (!status) {
        deps.onRejected('malformed', { deviceId: topic.deviceId })
        drop(packet)
        return
      }
      deps.onPresence(topic.deviceId, status)
      return
    }
    packet.retain = false
    const decoded = decodePublish(topic, payload, now())
    if (!deps.rateLimiter.tryTake(topic.deviceId)) {
      // Counted through the rejections (reason rate_limited), like every refusal of an envelope.
      const rejections = [
        ...decoded.rejections,
        ...decoded.items.map((item) => ({
          deviceId: topic.deviceId,
          id: itemId(item),
          code: 'RATE_LIMITED' as const,
          isRetryable: true,
          reason: 'rate_limited' as const,
        })),
      ]
      deps.onIngest({ items: [], rejections })
      drop(packet)
      return
    }
    deps.onIngest(decoded)
    if (decoded.items.length === 0) drop(packet)
  }

  return {
    aedes,
    principalOf: (client) => principals.get(client),
    cutRevokedClients() {
      let count = 0
      for (const client of Object.values((aedes as unknown as { clients: Record<string, Client> }).clients)) {
        const principal = principals.get(client)
        if (principal && !deps.registry.isActive(principal)) {
          client.close()
          count += 1
        }
      }
      return count
    },
    close: () => new Promise<void>((resolve) => aedes.close(() => resolve())),
  }
}

/** Presence from a status payload: a bare `{state}` or a `status` envelope (protocol v1 allows both). */
function parseStatus(payload: Buffer): 'online' | 'offline' | undefined {
  try {
    const value = JSON.parse(payload.toString('utf8')) as { type?: unknown; payload?: unknown } | null
    const body = value && typeof value === 'object' && value.type === 'status' ? value.payload : value
    const result = statusPayload.safeParse(body)
    return result.success ? result.data.state : undefined
  } catch {
    return undefined
  }
}

/** The type of packets aedes hands to the published hook (re-exported for tests). */
export type { AedesPublishPacket }
