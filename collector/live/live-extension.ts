import type { FastifyInstance } from 'fastify'
import type { CollectorEvent, RunningCollector } from '../collector.js'
import type { CollectorLiveConfig } from './live-config.js'
import { type LivePrincipalOf, registerLiveRoutes } from './live-routes.js'
import { LiveService, type LiveServiceEvent } from './live-service.js'

/**
 * The live view as one collector extension: the composition root hands its hooks to the collector (the
 * device's live topic, presence), registers its routes before the HTTP server listens, then calls
 * start(collector) once the collector runs and stop() before it closes.
 */
export class LiveExtension {
  readonly service: LiveService
  readonly #config: CollectorLiveConfig

  constructor(
    config: CollectorLiveConfig,
    deps: { now?: () => number; onEvent?: (event: LiveServiceEvent) => void } = {},
  ) {
    this.#config = config
    this.service = new LiveService(config, deps)
  }

  /** The collector hook for the device's live topic. */
  readonly onLiveSignal = (deviceId: string, payload: Buffer): void =>
    this.service.onDeviceSignal(deviceId, payload)

  /** The collector's events this extension follows (presence ends a session). */
  readonly onCollectorEvent = (event: CollectorEvent): void => {
    if (event.kind === 'presence') this.service.onPresence(event.deviceId, event.state)
  }

  registerRoutes(app: FastifyInstance, principalOf: LivePrincipalOf): void {
    if (this.#config.enabled) registerLiveRoutes(app, this.service, principalOf)
  }

  async start(collector: RunningCollector): Promise<void> {
    if (!this.#config.enabled) return
    await this.service.start({
      sendCommand: (deviceId, payload) => collector.sendCommand(deviceId, payload),
      record: (envelope) => collector.record([envelope]),
      isOnline: (deviceId) => collector.presence.get(deviceId)?.state === 'online',
      metrics: collector.metrics.registry,
    })
  }

  stop(): Promise<void> {
    return this.service.stop()
  }
}
