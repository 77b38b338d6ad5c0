import { addressGroup } from './address-group.js'

/** Limits on connections that have not been answered CONNACK 0 yet. */
export interface PreAuthLimits {
  /** Bytes one connection may send before it is authenticated (its CONNECT and anything pipelined). */
  readonly maxBytesPerConnection: number
  /** Bytes all unauthenticated connections together may have sent. */
  readonly maxTotalBytes: number
  /** Unauthenticated connections at once from one address (IPv6: one /64). */
  readonly maxConnectionsPerAddress: number
}

/** One unauthenticated connection, as the budget sees it. */
export interface PreAuthConnection {
  /** Its address group (see addressGroup). */
  readonly key: string
  /** Bytes it has sent so far. */
  heldBytes: number
  /** Cuts it (the budget needed its bytes back). */
  cut(): void
}

/** Why the budget turned a connection away. */
export type PreAuthRefusal = 'preauth_per_address' | 'preauth_too_large' | 'preauth_budget'

/**
 * Bounds what unauthenticated connections may hold, all together and per address, so a crowd of
 * unfinished CONNECTs cannot fill the collector's memory before the connect timeout. Without it, 400
 * CONNECTs declaring 260 KB each and never finished held about 98 MB. When the shared budget is full,
 * the connection holding the most is cut, not the newcomer: an honest CONNECT is a few hundred bytes, so
 * the connections that hog the budget are the ones to lose it.
 */
export class PreAuthBudget {
  readonly limits: PreAuthLimits
  readonly #byAddress = new Map<string, number>()
  readonly #open = new Set<PreAuthConnection>()
  #totalBytes = 0

  constructor(limits: PreAuthLimits) {
    this.limits = limits
  }

  /** Bytes all unauthenticated connections hold now. */
  get totalBytes(): number {
    return this.#totalBytes
  }

  /** Unauthenticated connections now. */
  get openCount(): number {
    return this.#open.size
  }

  /** Admits a new connection from address; undefined when that address already has its maximum. */
  open(address: string | undefined, cut: () => void): PreAuthConnection | undefined {
    const key = addressGroup(address)
    const count = this.#byAddress.get(key) ?? 0
    if (count >= this.limits.maxConnectionsPerAddress) return undefined
    this.#byAddress.set(key, count + 1)
    const connection: PreAuthConnection = { key, heldBytes: 0, cut }
    this.#open.add(connection)
    return connection
  }

  /** Counts bytes a connection received; the refusal when it must be cut. */
  add(connection: PreAuthConnection, bytes: number): PreAuthRefusal | undefined {
    if (connection.heldBytes + bytes > this.limits.maxBytesPerConnection) return 'preauth_too_large'
    connection.heldBytes += bytes
    this.#totalBytes += bytes
    while (this.#totalBytes > this.limits.maxTotalBytes) {
      let largest = connection
      for (const other of this.#open) if (other.heldBytes > largest.heldBytes) largest = other
      if (largest === connection) return 'preauth_budget'
      largest.cut()
      this.close(largest)
    }
    return undefined
  }

  /** The connection was authenticated or closed: gives back its bytes and its address slot. */
  close(connection: PreAuthConnection): void {
    if (!this.#open.delete(connection)) return
    const { key } = connection
    this.#totalBytes -= connection.heldBytes
    connection.heldBytes = 0
    const count = (this.#byAddress.get(key) ?? 1) - 1
    if (count <= 0) this.#byAddress.delete(key)
    else this.#byAddress.set(key, count)
  }
}
