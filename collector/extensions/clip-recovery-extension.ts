import { Counter } from 'prom-client'
import { ClipRecovery } from '../clips/clip-recovery.js'
import type { CollectorExtension, ExtensionContext } from './extension.js'

/**
 * Clip recovery as an extension: after each commit, every clip it touched is checked once all its chunks
 * are in (a verified clip is announced to the device, a corrupt one asked for again), `clip.unavailable`
 * answers are recorded, and a device coming online is asked again for the clips it still owes.
 */
export class ClipRecoveryExtension implements CollectorExtension {
  readonly name = 'clip-recovery'

  start(ctx: ExtensionContext): void {
    const { bus, stores } = ctx
    const resends = new Counter({
      name: 'doorbell_collector_clip_resends_total',
      help: 'Clips whose whole-file check failed, by step: requested, repeated (device back online), recovered, exhausted, unavailable',
      labelNames: ['outcome'] as const,
      registers: [ctx.metrics],
    })
    const recovery = new ClipRecovery({
      store: stores.events,
      clips: stores.clips,
      sendCommand: ctx.mqtt.sendCommand,
      maxResends: ctx.config.limits.maxClipResends,
      onReport: (report) => {
        resends.inc({ outcome: report.outcome })
        bus.emit({ kind: 'clip_resend', ...report })
      },
    })
    bus.on('committed', ({ result }) => {
      const touched = new Map(result.storedChunks.map((c) => [c.clipId, c.deviceId]))
      for (const event of result.stored) {
        if (event.type === 'clip.manifest') touched.set(event.payload.clipId, event.deviceId)
        if (event.type === 'clip.unavailable')
          ctx.track('clip', recovery.unavailable(event.deviceId, event.payload))
      }
      for (const [clipId, deviceId] of touched) {
        ctx.track(
          'clip',
          recovery.check(deviceId, clipId).then((verdict) => {
            if (verdict) bus.emit({ kind: 'clip', deviceId, clipId, verdict })
          }),
        )
      }
    })
    // A clip.resend queued while the device was away is lost if the collector restarted: ask again.
    bus.on('presence', ({ deviceId, state }) => {
      if (state === 'online') ctx.track('clip', recovery.deviceOnline(deviceId))
    })
  }

  stop(): void {
    // Checks still running are tracked tasks: the collector waits for them before it stops extensions.
  }
}
