import { Duplex } from 'node:stream'
import { InboundPacketChecker, type LimiterRefusal } from './inbound-packet-checker.js'
import type { ConnectSummary } from './mqtt-conformance.js'
import { type ConnackObserver, OutboundPacketTracker } from './outbound-packet-tracker.js'
import { PacketIdLedger, type Qos2Receipts } from './packet-id-ledger.js'
import type { PreAuthBudget, PreAuthConnection } from './pre-auth-budget.js'

export type { LimiterRefusal } from './inbound-packet-checker.js'

/** Options of the limiter. */
export interface MqttPacketLimiterOptions {
  /** Largest MQTT remaining length accepted once authenticated, in bytes. */
  readonly maxPacketBytes: number
  /** Called once when the connection is cut, with the declared length when it could be read. */
  readonly onRefused: (reason: LimiterRefusal, declaredBytes: number) => void
  /** Shared bounds on unauthenticated connections; absent, only maxPacketBytes applies. */
  readonly preAuth?: PreAuthBudget
}

/** Where a socket keeps its limiter, so one listener function serves every connection. */
const limiterOfSocket = Symbol('mqttPacketLimiter')
type TaggedSocket = Duplex & { [limiterOfSocket]: MqttPacketLimiter }
/** Told once when a connection closes, with what watchClose() was given (one observer serves them all). */
export interface CloseObserver<T> {
  connectionClosed(subject: T): void
}

let onLimiterClose: (this: MqttPacketLimiter) => void
let socketListeners: {
  data(this: Duplex, chunk: Buffer): void
  end(this: Duplex): void
  close(this: Duplex): void
  error(this: Duplex, err: Error): void
  drain(this: Duplex): void
}

/**
 * The front door: sits between a socket and aedes and follows the MQTT packets both ways as bytes pass.
 * Inbound (InboundPacketChecker) it cuts a connection that declares a packet over the limit (aedes 1.2
 * sets none, so mqtt-packet would buffer up to 256 MB), that sends more than its share before it is
 * authenticated (PreAuthBudget), or that breaks a rule of mqtt-conformance.ts; aedes never sees such a
 * packet whole. Outbound, OutboundPacketTracker notes the packet ids sent (an acknowledgement nobody asked
 * for is refused) and sets CONNACK's session-present flag.
 *
 * One lives as long as its connection, idle for hours, thousands at once: its socket listeners are
 * shared static functions and its scanners subclasses, not closures per connection.
 */
export class MqttPacketLimiter extends Duplex implements ConnackObserver {
  /** The underlying socket (a TLSSocket for mqtts, to read the peer certificate). */
  readonly socket: Duplex
  /** The peer's address (for WebSocket, the HTTP request's), for the per-address limits. */
  readonly remoteAddress: string | undefined
  readonly #options: MqttPacketLimiterOptions
  readonly #ids = new PacketIdLedger()
  readonly #in: InboundPacketChecker
  readonly #out: OutboundPacketTracker
  #preAuth: PreAuthConnection | undefined
  #isAuthenticated = false
  /** Set while a write waits for the socket to drain. */
  #whenDrained: (() => void) | undefined
  #closeObserver: CloseObserver<unknown> | undefined
  #closeSubject: unknown

  /** options may be shared by every connection of a listener; remoteAddress is the peer's (per-address limits). */
  constructor(socket: Duplex, options: MqttPacketLimiterOptions, remoteAddress?: string) {
    super({ allowHalfOpen: false })
    this.socket = socket
    this.remoteAddress = remoteAddress
    this.#options = options
    const preAuthMaxBytes = options.preAuth?.limits.maxBytesPerConnection
    this.#in = new InboundPacketChecker(this.#ids, options.maxPacketBytes, preAuthMaxBytes)
    this.#out = new OutboundPacketTracker(this.#ids, this)
    ;(socket as TaggedSocket)[limiterOfSocket] = this
    socket.on('data', socketListeners.data)
    socket.on('end', socketListeners.end)
    socket.on('close', socketListeners.close)
    socket.on('error', socketListeners.error)
    socket.on('drain', socketListeners.drain)
    if (options.preAuth) {
      this.#preAuth = options.preAuth.open(remoteAddress, () => this.#refuse('preauth_budget', 0))
      if (!this.#preAuth) this.#refuse('preauth_per_address', 0)
    }
  }

  /**
   * The socket listeners, one function each for every connection (EventEmitter calls a listener with the
   * socket as this). Defined in the class body so that they may read the limiter's private state.
   */
  static {
    onLimiterClose = function (this: MqttPacketLimiter): void {
      const observer = this.#closeObserver
      this.#closeObserver = undefined
      observer?.connectionClosed(this.#closeSubject)
      this.#closeSubject = undefined
    }
    socketListeners = {
      data(this: Duplex, chunk: Buffer): void {
        const limiter = (this as TaggedSocket)[limiterOfSocket]
        // Scanned first: a declared size over the limit is the reason to give, not the bytes it brought.
        const refusal = limiter.#in.scan(chunk)
        if (refusal) {
          const answer = limiter.#in.takeAnswer()
          if (answer) this.end(answer)
          limiter.#refuse(refusal, limiter.#in.declaredLength)
          return
        }
        if (limiter.#preAuth) {
          const overBudget = limiter.#options.preAuth?.add(limiter.#preAuth, chunk.length)
          if (overBudget) {
            limiter.#refuse(overBudget, limiter.#in.declaredLength)
            return
          }
        }
        if (!limiter.push(chunk)) this.pause()
      },
      end(this: Duplex): void {
        ;(this as TaggedSocket)[limiterOfSocket].push(null)
      },
      close(this: Duplex): void {
        ;(this as TaggedSocket)[limiterOfSocket].destroy()
      },
      error(this: Duplex, err: Error): void {
        ;(this as TaggedSocket)[limiterOfSocket].destroy(err)
      },
      drain(this: Duplex): void {
        const limiter = (this as TaggedSocket)[limiterOfSocket]
        const done = limiter.#whenDrained
        limiter.#whenDrained = undefined
        done?.()
      },
    }
  }

  /** What the client's CONNECT said, once it passed the checks, until CONNACK 0 (then it has served). */
  get connectSummary(): ConnectSummary | undefined {
    return this.#in.connectSummary
  }

  /**
   * Tells observer once, with subject, when this connection closes; at once when it already has. One
   * observer shared by every connection and two fields here, where a closure per connection and
   * EventEmitter's once() wrapper were about 0.25 KiB each for the connection's life.
   */
  watchClose<T>(observer: CloseObserver<T>, subject: T): void {
    if (this.destroyed) {
      observer.connectionClosed(subject)
      return
    }
    this.#closeObserver = observer as CloseObserver<unknown>
    this.#closeSubject = subject
    this.on('close', onLimiterClose)
  }

  /** True once CONNACK 0 went out. */
  get isAuthenticated(): boolean {
    return this.#isAuthenticated
  }

  /** The session-present flag the coming CONNACK 0 must carry; also hands over the session's receipts. */
  setSession(isPresent: boolean, receipts: Qos2Receipts): void {
    this.#out.setSessionPresent(isPresent)
    this.#ids.adopt(receipts)
  }

  /** CONNACK 0 went out (OutboundPacketTracker). */
  connackAccepted(): void {
    this.#isAuthenticated = true
    this.#in.authenticated()
    this.#leavePreAuth()
  }

  #leavePreAuth(): void {
    if (!this.#preAuth) return
    this.#options.preAuth?.close(this.#preAuth)
    this.#preAuth = undefined
  }

  #refuse(reason: LimiterRefusal, declaredBytes: number): void {
    if (this.destroyed) return
    this.#leavePreAuth()
    this.#options.onRefused(reason, declaredBytes)
    // An answer (CONNACK 1, a v5 CONNACK) is on its way out through end(); destroy after it is flushed.
    if (!this.socket.writableEnded) this.socket.destroy()
    else this.socket.once('finish', () => this.socket.destroy())
    this.destroy()
  }

  override _read(): void {
    this.socket.resume()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.socket.write(this.#out.track(chunk))) done()
    else this.#whenDrained = done
  }

  override _writev(chunks: { chunk: Buffer }[], done: (err?: Error | null) => void): void {
    this.socket.cork()
    let isFull = false
    for (const { chunk } of chunks) isFull = !this.socket.write(this.#out.track(chunk)) || isFull
    this.socket.uncork()
    if (isFull) this.#whenDrained = done
    else done()
  }

  override _final(done: (err?: Error | null) => void): void {
    this.socket.end(() => done())
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.#leavePreAuth()
    if (!this.socket.writableEnded) this.socket.destroy()
    done(err)
  }
}
