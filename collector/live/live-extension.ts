import type { FastifyRequest } from 'fastify'
import type { Envelope } from '../../shared/protocol/index.js'
import { principalOf } from '../access/http-access.js'
import type { CollectorExtension, ExtensionContext } from '../extensions/extension.js'
import type { StoredEvent } from '../store/event-store.js'
import { serveFallbackSockets } from './fallback-socket.js'
import { registerLiveRoutes } from './live-routes.js'
import { LiveService } from './live-service.js'
import type { LivePrincipal } from './live-session.js'

/** The signed-in homeowner of a request, as the live view sees them. */
function homeownerOf(request: FastifyRequest): LivePrincipal | undefined {
  const principal = principalOf(request)
  return principal?.kind === 'homeowner' ? { user: principal.name, role: principal.role } : undefined
}

/**
 * The live view as a collector extension (docs/live.md): its routes (each in access/route-permissions.ts),
 * the devices' live topic and presence from the bus, `live.start`/`live.stop` through the MQTT surface, and
 * `live.started`/`live.ended` stored like any event (then announced as `stored`, so the timeline shows them).
 */
export class LiveExtension implements CollectorExtension {
  readonly name = 'live'
  #service: LiveService | undefined
  #sockets: { close(): void } | undefined

  /** The sessions and their operations (undefined before start, or when live view is off). */
  get service(): LiveService | undefined {
    return this.#service
  }

  async start(ctx: ExtensionContext): Promise<void> {
    const config = ctx.config.live
    if (!config.enabled || !ctx.http) return
    const { bus, stores } = ctx
    const service = new LiveService(config, { now: ctx.now, onEvent: (event) => bus.emit(event) })
    this.#service = service
    const presence = new Map<string, 'online' | 'offline'>()
    bus.on('presence', ({ deviceId, state }) => {
      presence.set(deviceId, state)
      service.onPresence(deviceId, state)
    })
    bus.on('live_signal', ({ deviceId, payload }) => service.onDeviceSignal(deviceId, payload))
    registerLiveRoutes(ctx.http, service, homeownerOf)
    this.#sockets = serveFallbackSockets(ctx.http.server, service)
    const record = async (envelope: Envelope): Promise<void> => {
      const key = { deviceId: envelope.deviceId, id: envelope.id }
      if ((await stores.events.findExisting([key], [])).has(envelope.id)) return
      const event = { ...envelope, receivedAtMs: ctx.now() } as StoredEvent
      await stores.events.commit({ events: [event], chunks: [] })
      bus.emit({ kind: 'stored', events: [event] })
    }
    await service.start({
      sendCommand: (deviceId, payload) => ctx.mqtt.sendCommand(deviceId, payload),
      record: (envelope) => record(envelope),
      isOnline: (deviceId) => presence.get(deviceId) === 'online',
      metrics: ctx.metrics,
    })
  }

  async stop(): Promise<void> {
    this.#sockets?.close()
    await this.#service?.stop()
  }
}
