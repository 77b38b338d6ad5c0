import { newQos2Receipts, type Qos2Receipts } from './packet-id-ledger.js'

/** Bounds on sessions (limits.sessions in the config). */
export interface SessionLimits {
  /** Sessions (connected, or persistent and offline) one identity may hold: its own client id and `<id>:<suffix>`. */
  readonly maxPerIdentity: number
  /** How long a persistent session may stay offline before it is removed with its queue. */
  readonly offlineExpiryMs: number
}

interface Session {
  readonly clientId: string
  readonly owner: string
  readonly isPersistent: boolean
  /** The connection holding it; undefined while offline. */
  holder: object | undefined
  offlineSinceMs: number
  readonly receipts: Qos2Receipts
}

/** The outcome of a CONNECT for a session. */
export type SessionAdmission =
  | {
      readonly sessionPresent: boolean
      readonly receipts: Qos2Receipts
      /** Sessions to remove to make room: offline ones are purged, connected ones cut too. */
      readonly evicted: readonly { readonly clientId: string; readonly holder: object | undefined }[]
    }
  | { readonly refusal: 'session_limit' }

/**
 * Which sessions exist, who owns them and since when they are offline. aedes keeps a session's
 * subscriptions and queue but not the session itself: a persistent session without subscriptions was
 * answered session-present 0, against MQTT-3.2.2-2, and one identity could open 2000 sessions that
 * never expired. An identity at its maximum makes room by losing its oldest offline session; with none
 * offline, a new `<id>:<suffix>` is refused, but the device's own client id always gets in (it cuts the
 * oldest extra session), so tools cannot lock the device out.
 */
export class SessionTable {
  readonly #limits: SessionLimits
  readonly #sessions = new Map<string, Session>()
  /**
   * The client ids of each owner: the one id itself while it is the only one, as nearly every device has
   * (a Set per device cost about 0.2 KiB each, with 10,000 devices connected).
   */
  readonly #byOwner = new Map<string, string | Set<string>>()

  constructor(limits: SessionLimits) {
    this.#limits = limits
  }

  /** Sessions held by an owner now. */
  countOf(owner: string): number {
    const owned = this.#byOwner.get(owner)
    return owned === undefined ? 0 : typeof owned === 'string' ? 1 : owned.size
  }

  #idsOf(owner: string): readonly string[] {
    const owned = this.#byOwner.get(owner)
    return owned === undefined ? [] : typeof owned === 'string' ? [owned] : [...owned]
  }

  /** Sessions now, connected or offline. */
  get size(): number {
    return this.#sessions.size
  }

  /** An authenticated CONNECT of clientId by owner; holder is its connection. */
  admit(owner: string, clientId: string, isClean: boolean, holder: object): SessionAdmission {
    const existing = this.#sessions.get(clientId)
    const others = this.#idsOf(owner)
      .filter((id) => id !== clientId)
      .map((id) => this.#sessions.get(id) as Session)
    const evicted: { clientId: string; holder: object | undefined }[] = []
    if (others.length >= this.#limits.maxPerIdentity) {
      const offline = others.filter((s) => !s.holder).sort((a, b) => a.offlineSinceMs - b.offlineSinceMs)
      const connected = others.filter((s) => s.holder)
      const victim = offline[0] ?? (clientId === owner ? connected[0] : undefined)
      if (!victim) return { refusal: 'session_limit' }
      evicted.push({ clientId: victim.clientId, holder: victim.holder })
      this.#remove(victim)
    }
    const isResumed = !isClean && existing?.isPersistent === true
    const session: Session = {
      clientId,
      owner,
      isPersistent: !isClean,
      holder,
      offlineSinceMs: 0,
      receipts: isResumed && existing ? existing.receipts : newQos2Receipts(),
    }
    if (existing) this.#remove(existing)
    this.#sessions.set(clientId, session)
    const owned = this.#byOwner.get(owner)
    if (owned === undefined || owned === clientId) this.#byOwner.set(owner, clientId)
    else if (typeof owned === 'string') this.#byOwner.set(owner, new Set([owned, clientId]))
    else owned.add(clientId)
    return { sessionPresent: isResumed, receipts: session.receipts, evicted }
  }

  /** The connection holder of clientId closed: a clean session ends, a persistent one goes offline. */
  disconnected(clientId: string, holder: object, nowMs: number): void {
    const session = this.#sessions.get(clientId)
    if (!session || session.holder !== holder) return
    if (!session.isPersistent) {
      this.#remove(session)
      return
    }
    session.holder = undefined
    session.offlineSinceMs = nowMs
  }

  /** Removes and returns the client ids of persistent sessions offline longer than the expiry. */
  expire(nowMs: number): string[] {
    const expired: string[] = []
    for (const session of this.#sessions.values()) {
      if (session.holder || nowMs - session.offlineSinceMs < this.#limits.offlineExpiryMs) continue
      expired.push(session.clientId)
      this.#remove(session)
    }
    return expired
  }

  #remove(session: Session): void {
    this.#sessions.delete(session.clientId)
    const owned = this.#byOwner.get(session.owner)
    if (owned === session.clientId) this.#byOwner.delete(session.owner)
    else if (typeof owned === 'object') {
      owned.delete(session.clientId)
      if (owned.size === 0) this.#byOwner.delete(session.owner)
    }
  }
}
