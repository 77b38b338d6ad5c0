import {
  isUplinkTopic,
  mayMatchUplink,
  type UplinkInterestRegistry,
  uplinkInterestTopic,
} from './uplink-interest.js'

/** A bus message as aedes hands it over. */
interface BusPacket {
  readonly topic: string
}
type Done = (err?: Error) => void
type Listener = (packet: BusPacket, done: () => void) => void

/** The parts of mqemitter-redis this file reroutes. */
export interface RedisBus {
  emit(packet: BusPacket, done?: Done): unknown
  on(topic: string, listener: Listener, done?: () => void): unknown
  removeListener(topic: string, listener: Listener, done?: () => void): unknown
  close(done?: () => void): unknown
  /** MQEmitter's own emit: this node's listeners only, no Redis. */
  _emit(packet: BusPacket, done?: Done): unknown
  readonly state: { on(event: 'subConnect', listener: () => void): void }
}

/**
 * Makes bus (mqemitter-redis, which aedes publishes every message to) keep device uplinks on this node
 * while registry knows of no listener for them anywhere in the fleet (uplink-interest.ts): each one
 * otherwise costs an encode, a Redis PUBLISH and its reply, and every node's ingest has already taken what
 * it needs. Everything else (acks, commands, aedes' own $SYS traffic) goes through Redis as before, and so
 * do uplinks whenever some node has a listener or it is not known for sure. A listener that may match
 * uplinks is registered with the fleet before aedes sees it subscribed (before SUBACK).
 */
export function keepUplinksLocal(bus: RedisBus, registry: UplinkInterestRegistry): void {
  const emitThroughRedis = bus.emit.bind(bus)
  const emitHere = bus._emit.bind(bus)
  const on = bus.on.bind(bus)
  const removeListener = bus.removeListener.bind(bus)
  const close = bus.close.bind(bus)
  bus.emit = (packet, done) =>
    registry.isUplinkLocal() && isUplinkTopic(packet.topic)
      ? emitHere(packet, done)
      : emitThroughRedis(packet, done)
  bus.on = (topic, listener, done) => {
    if (!mayMatchUplink(topic)) return on(topic, listener, done)
    const registered = registry.addListener()
    // Subscribed at once (so removeListener keeps its order with it); done waits for the fleet too.
    return on(topic, listener, () => {
      void registered.then(() => done?.())
    })
  }
  bus.removeListener = (topic, listener, done) => {
    if (mayMatchUplink(topic)) registry.removeListener()
    return removeListener(topic, listener, done)
  }
  bus.close = (done) => {
    // Queued on the publishing connection ahead of its QUIT.
    void registry.close()
    return close(done)
  }
  bus.state.on('subConnect', () => {
    // A reconnected subscriber may have missed notices; through Redis until read again.
    registry.forget()
    registry.read()
  })
  on(
    uplinkInterestTopic,
    (_packet, done) => {
      registry.heardNotice()
      done()
    },
    () => registry.start(),
  )
}

/** Publishes the notice of a change of this node's interest through Redis, resolving once Redis took it. */
export function interestAnnouncer(bus: Pick<RedisBus, 'emit'>): () => Promise<void> {
  return () =>
    new Promise<void>((resolve, reject) => {
      bus.emit({ topic: uplinkInterestTopic, payload: Buffer.alloc(0) } as BusPacket, (err) =>
        err ? reject(err) : resolve(),
      )
    })
}
