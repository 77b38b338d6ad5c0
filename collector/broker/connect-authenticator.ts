import { TLSSocket } from 'node:tls'
import type { Client } from 'aedes'
import { isClientIdAllowed } from '../access/mqtt-rights.js'
import type { RejectReason } from '../ingest/ingest-item.js'
import type { IdentityRegistry, Login } from '../registry/identity-registry.js'
import { ConcurrencyGate } from './concurrency-gate.js'
import type { LoginLimiter } from './login-limiter.js'
import { type CloseObserver, MqttPacketLimiter } from './mqtt-packet-limiter.js'
import type { SessionTable } from './session-table.js'

/** CONNACK return codes of MQTT 3.1.1 (section 3.2.2.3). */
export const connack = {
  identifierRejected: 2,
  serverUnavailable: 3,
  badCredentials: 4,
  notAuthorized: 5,
} as const

/** Collaborators of the CONNECT check. */
export interface ConnectAuthenticatorDeps {
  readonly registry: IdentityRegistry
  readonly limiter: LoginLimiter
  readonly sessions: SessionTable
  /** Slow (scrypt) checks at once, and waiting; more are answered CONNACK 3 (auth_busy). */
  readonly slowChecks: { readonly maxRunning: number; readonly maxWaiting: number }
  readonly onRejected: (reason: RejectReason, detail: { clientId?: string }) => void
  /** Sessions that had to go to make room for this one (offline ones are purged, connected ones cut). */
  readonly onEvicted: (evicted: readonly { clientId: string; holder: object | undefined }[]) => void
  readonly now: () => number
}

/** Who a client is once admitted, and the credential to compare when the registry changes. */
export type Admitted = Login

/** The peer address of a client's connection (the front door knows it for every transport). */
export function clientAddress(client: Client): string | undefined {
  return client.conn instanceof MqttPacketLimiter ? client.conn.remoteAddress : undefined
}

/**
 * The steps of a CONNECT after the front door's checks, in order: certificate or secret (with the
 * login limits, slow legacy hashes through a small gate), the client id rule, then the session table
 * (per-identity cap, session-present). Answers a Login, or the CONNACK return code to refuse with.
 */
export function createConnectAuthenticator(
  deps: ConnectAuthenticatorDeps,
): (
  client: Client,
  username: string | undefined,
  password: Buffer | undefined,
) => Promise<Admitted | number> {
  const slowGate = new ConcurrencyGate(deps.slowChecks.maxRunning, deps.slowChecks.maxWaiting)
  /** Puts a client's session offline (or ends it) when its connection closes; one for every client. */
  const sessionEnds: CloseObserver<Client> = {
    connectionClosed: (client) => deps.sessions.disconnected(client.id, client, deps.now()),
  }

  async function checkSecret(client: Client, username: string, password: string): Promise<Login | number> {
    const address = clientAddress(client)
    if (deps.limiter.isRefused(address, username)) {
      deps.onRejected('auth_backoff', { clientId: client.id })
      return connack.serverUnavailable
    }
    let login: Login | undefined
    if (deps.registry.isSlowToVerify(username)) {
      const checked = await slowGate.run(async () => ({
        login: await deps.registry.authenticate(username, password),
      }))
      if (!checked) {
        deps.onRejected('auth_busy', { clientId: client.id })
        return connack.serverUnavailable
      }
      login = checked.login
    } else {
      login = await deps.registry.authenticate(username, password)
    }
    if (!login) {
      deps.limiter.failed(address, username)
      deps.onRejected('auth_failed', { clientId: client.id })
      return connack.badCredentials
    }
    return login
  }

  return async (client, username, password) => {
    let login: Login | undefined
    const conn = client.conn instanceof MqttPacketLimiter ? client.conn : undefined
    const socket = conn ? conn.socket : client.conn
    if (socket instanceof TLSSocket && socket.authorized) {
      // Client certificate signed by mqtt.tls.caFile: its CN is the device id (docs/collector.md).
      const cn = socket.getPeerCertificate().subject?.CN
      if (typeof cn === 'string' && deps.registry.isDeviceEnabled(cn) && (!username || username === cn)) {
        login = { principal: { kind: 'device', deviceId: cn }, credential: 'certificate' }
      }
    }
    if (!login) {
      if (!username || !password) {
        deps.onRejected('auth_failed', { clientId: client.id })
        return connack.notAuthorized
      }
      const checked = await checkSecret(client, username, password.toString('utf8'))
      if (typeof checked === 'number') return checked
      login = checked
    }
    const { principal } = login
    if (!isClientIdAllowed(principal, client.id)) {
      deps.onRejected('client_id_rejected', { clientId: client.id })
      return connack.identifierRejected
    }
    const owner = principal.kind === 'device' ? principal.deviceId : principal.name
    const isClean = conn?.connectSummary?.isClean ?? client.clean
    const admission = deps.sessions.admit(owner, client.id, isClean, client)
    if ('refusal' in admission) {
      deps.onRejected('session_limit', { clientId: client.id })
      return connack.serverUnavailable
    }
    deps.limiter.succeeded(clientAddress(client), owner)
    deps.onEvicted(admission.evicted)
    conn?.setSession(admission.sessionPresent, admission.receipts)
    // Closed while its secret was checked: the session goes offline (or ends) at once.
    if (conn) conn.watchClose(sessionEnds, client)
    else sessionEnds.connectionClosed(client)
    return login
  }
}
