import { Aedes, type AedesPublishPacket, type Client, type PublishPacket, type Subscription } from 'aedes'
import { topics } from '../../shared/protocol/index.js'
import { isSubscribeAllowed } from '../access/mqtt-rights.js'
import type { Quotas } from '../access/quotas.js'
import type { RejectReason } from '../ingest/ingest-item.js'
import { createPublishIngest } from '../ingest/publish-ingest.js'
import type { IngestSink } from '../ingest/publish-steps.js'
import type { IdentityRegistry, Principal } from '../registry/identity-registry.js'
import { connack, createConnectAuthenticator } from './connect-authenticator.js'
import type { LoginLimiter } from './login-limiter.js'
import { SessionQueues } from './session-queues.js'
import { type SessionLimits, SessionTable } from './session-table.js'
import type { ByteBudget, TokenBucketRateLimiter } from './token-bucket.js'

/** Collaborators of the broker's hooks. */
export interface DoorbellBrokerDeps {
  readonly registry: IdentityRegistry
  readonly rateLimiter: TokenBucketRateLimiter
  /** Bytes per device per day (limits.deviceBytesPerDay). */
  readonly storageQuota: ByteBudget
  /** How far ahead of this clock a device may date its events (limits.maxClockAheadMs). */
  readonly maxClockAheadMs: number
  readonly connectTimeoutMs: number
  /** Slow (legacy scrypt) secret checks at once and waiting (access/quotas.ts). */
  readonly credentialChecks: Quotas['credentialChecks']
  /** Failed logins per address and identity, with backoff. */
  readonly loginLimiter: LoginLimiter
  readonly sessions: SessionLimits & {
    /** QoS 1 and 2 messages one persistent session may have queued or in flight. */
    readonly maxQueuedMessages: number
  }
  /** Counts what the session bounds dropped: queued messages (queue full, session gone), sessions. */
  readonly onSessionDropped: (
    what: 'message' | 'session',
    reason: 'queue_full' | 'expired' | 'evicted',
    count: number,
  ) => void
  /** Counts a refusal (the rejection metric). */
  readonly onRejected: (reason: RejectReason, detail: { clientId?: string; deviceId?: string }) => void
  /** Where decoded events and chunks go (the group-commit writer). */
  readonly sink: IngestSink
  /** Items waiting for a commit beyond which new ones are refused with retry (backpressure). */
  readonly maxQueuedItems: number
  /** A device's presence changed (status topic, or its last will). */
  readonly onPresence: (deviceId: string, state: 'online' | 'offline') => void
  /** A device published on its live topic (live-view signalling). */
  readonly onLiveSignal?: (deviceId: string, payload: Buffer) => void
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

/** The aedes broker with the doorbell's policies as its hooks, and who each client is. */
export interface DoorbellBroker {
  readonly aedes: Aedes
  principalOf(client: Client): Principal | undefined
  /** Disconnects clients whose device was disabled, removed or given a new secret since they connected. */
  cutRevokedClients(): number
  /** Sessions held now, connected or offline. */
  readonly sessionCount: () => number
  close(): Promise<void>
}

/**
 * Builds the broker. Every policy is an aedes hook: preConnect/authenticate (connect-authenticator.ts:
 * secret or certificate, login limits, client id rules, the session table),
 * authorizePublish (the ingest steps, ingest/publish-ingest.ts), authorizeSubscribe (access/mqtt-rights.ts,
 * SUBACK 0x80 for a refused filter).
 */
export async function createDoorbellBroker(deps: DoorbellBrokerDeps): Promise<DoorbellBroker> {
  const now = deps.now ?? Date.now
  const principals = new WeakMap<Client, Principal>()
  const credentials = new WeakMap<Client, string>()
  const emptyIdClients = new WeakSet<Client>()
  /** The CONNECT of each client between preConnect and authenticate (to drop its password). */
  const connectPackets = new WeakMap<Client, { password?: Buffer | undefined }>()
  const sessions = new SessionTable(deps.sessions)
  let queues: SessionQueues | undefined
  const purge = (clientId: string, reason: 'expired' | 'evicted'): void => {
    deps.onSessionDropped('session', reason, 1)
    void queues?.purge(clientId).then(
      (count) => count > 0 && deps.onSessionDropped('message', reason, count),
      () => {},
    )
  }
  const authenticate = createConnectAuthenticator({
    registry: deps.registry,
    limiter: deps.loginLimiter,
    sessions,
    slowChecks: deps.credentialChecks,
    onRejected: deps.onRejected,
    onEvicted: (evicted) => {
      for (const { clientId, holder } of evicted) {
        ;(holder as Client | undefined)?.close()
        purge(clientId, 'evicted')
      }
    },
    now,
  })
  let droppedTopic = '$SYS/doorbell/dropped'

  /** Routes a refused publish nowhere: no client may subscribe to $SYS, and nothing is retained. */
  function drop(packet: PublishPacket): void {
    packet.topic = droppedTopic
    packet.retain = false
  }

  const ingest = createPublishIngest({
    principalOf: (client) => principals.get(client),
    rateLimiter: deps.rateLimiter,
    storageQuota: deps.storageQuota,
    maxClockAheadMs: deps.maxClockAheadMs,
    sink: deps.sink,
    maxQueuedItems: deps.maxQueuedItems,
    now,
    onRejected: deps.onRejected,
    onPresence: deps.onPresence,
    onLiveSignal: deps.onLiveSignal ?? (() => undefined),
    drop,
  })
  const aedes = await Aedes.createBroker({
    ...(deps.engines ? { mq: deps.engines.mq as never, persistence: deps.engines.persistence } : {}),
    connectTimeout: deps.connectTimeoutMs,
    preConnect(client, packet, callback) {
      // MQTT-3.1.3-8: an empty client id requires clean session; aedes would invent an id instead.
      if (!packet.clientId && !packet.clean) emptyIdClients.add(client)
      connectPackets.set(client, packet)
      callback(null, true)
    },
    authenticate(client, username, password, done) {
      // mqtt-packet's parser keeps the CONNECT packet for the connection's life: the secret should not
      // stay in memory that long, and its buffer pins the CONNECT's whole socket chunk (about 0.3 KiB).
      const packet = connectPackets.get(client)
      connectPackets.delete(client)
      if (packet) packet.password = undefined
      if (emptyIdClients.has(client)) {
        deps.onRejected('client_id_rejected', {})
        return done(authError('empty client id needs clean session', connack.identifierRejected), null)
      }
      void authenticate(client, username, password).then(
        (login) => {
          if (typeof login === 'number') return done(authError('refused', login), null)
          principals.set(client, login.principal)
          credentials.set(client, login.credential)
          done(null, true)
        },
        () => done(authError('server error', connack.serverUnavailable), null),
      )
    },
    authorizePublish(client, packet, callback) {
      try {
        ingest.accept(client, packet)
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
  queues = new SessionQueues(
    (aedes as unknown as { persistence: ConstructorParameters<typeof SessionQueues>[0] }).persistence,
    deps.sessions.maxQueuedMessages,
    (_clientId, count) => deps.onSessionDropped('message', 'queue_full', count),
  )
  const expiryTimer = setInterval(
    () => {
      for (const clientId of sessions.expire(now())) purge(clientId, 'expired')
    },
    Math.min(60_000, Math.max(100, deps.sessions.offlineExpiryMs / 4)),
  )
  expiryTimer.unref()
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

  return {
    aedes,
    principalOf: (client) => principals.get(client),
    cutRevokedClients() {
      let count = 0
      for (const client of Object.values((aedes as unknown as { clients: Record<string, Client> }).clients)) {
        const principal = principals.get(client)
        if (!principal) continue
        const credential = credentials.get(client)
        const current = deps.registry.credentialOf(principal)
        // A certificate login stays while the device is enabled; a secret login while its secret is current.
        const isRevoked = current === undefined || (credential !== 'certificate' && credential !== current)
        if (isRevoked) {
          client.close()
          count += 1
        }
      }
      return count
    },
    sessionCount: () => sessions.size,
    close: () => {
      clearInterval(expiryTimer)
      return new Promise<void>((resolve) => aedes.close(() => resolve()))
    },
  }
}

/** The type of packets aedes hands to the published hook (re-exported for tests). */
export type { AedesPublishPacket }
