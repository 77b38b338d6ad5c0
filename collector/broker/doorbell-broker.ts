import { Aedes, type AedesPublishPacket, type Client, type PublishPacket, type Subscription } from 'aedes'
import { statusPayload, topics } from '../../shared/protocol/index.js'
import { type DecodedPublish, itemId, type RejectReason } from '../ingest/ingest-item.js'
import { decodePublish } from '../ingest/publish-decoder.js'
import type { IdentityRegistry, Principal } from '../registry/identity-registry.js'
import { checkPublish, isSubscribeAllowed } from './access-policy.js'
import { connack, createConnectAuthenticator } from './connect-authenticator.js'
import type { LoginLimiter } from './login-limiter.js'
import { SessionQueues } from './session-queues.js'
import { type SessionLimits, SessionTable } from './session-table.js'
import type { TokenBucketRateLimiter } from './token-bucket.js'

/** Collaborators of the broker's hooks. */
export interface DoorbellBrokerDeps {
  readonly registry: IdentityRegistry
  readonly rateLimiter: TokenBucketRateLimiter
  readonly connectTimeoutMs: number
  readonly loginLimiter: LoginLimiter
  /** Slow (legacy scrypt) secret checks at once and waiting. */
  readonly slowChecks: { readonly maxRunning: number; readonly maxWaiting: number }
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
  /** Receives what a device published on its event, batch or chunk topic, already decoded. */
  readonly onIngest: (decoded: DecodedPublish) => void
  /** A device's presence changed (status topic, or its last will). */
  readonly onPresence: (deviceId: string, state: 'online' | 'offline') => void
  readonly now?: () => number
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
 * Builds the broker. Every policy is an aedes hook: preConnect/authenticate (identity, client id rules),
 * authorizePublish (ACL, rate limit, decode and hand to ingest), authorizeSubscribe (ACL, SUBACK 0x80).
 * A refused publish is acknowledged and dropped, never disconnected (MQTT-3.3.5-2 allows either), so a
 * device with one bad event does not loop reconnecting; the device learns of it from the ack envelope.
 */
export async function createDoorbellBroker(deps: DoorbellBrokerDeps): Promise<DoorbellBroker> {
  const now = deps.now ?? Date.now
  const principals = new WeakMap<Client, Principal>()
  const credentials = new WeakMap<Client, string>()
  const emptyIdClients = new WeakSet<Client>()
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
    slowChecks: deps.slowChecks,
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

  const aedes = await Aedes.createBroker({
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
  aedes.on('connectionError', (_client, err) => {
    if (err.message === 'connect did not arrive in time') deps.onRejected('connect_timeout', {})
  })

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
