import { newEventId } from '../../shared/protocol/index.js'
import type { Alert } from './alert.js'
import type { HealthTransition } from './device-health-monitor.js'
import type { TemperatureAnomaly } from './temperature-anomaly.js'

/** The offline or back-online alert of a device; one tag per device, so "back online" replaces "offline". */
export function healthAlert(transition: HealthTransition): Alert {
  const isOffline = transition.state === 'offline'
  return {
    id: newEventId(transition.atMs),
    tag: `health-${transition.deviceId}`,
    kind: isOffline ? 'offline' : 'online',
    deviceId: transition.deviceId,
    eventClass: 'medium',
    title: isOffline
      ? `Doorbell offline: ${transition.deviceId}`
      : `Doorbell back online: ${transition.deviceId}`,
    body: isOffline
      ? `${silence(transition.lastSeenMs)} (${transition.reason.replace('_', ' ')}).`
      : 'It is connected again; anything it recorded meanwhile is being delivered.',
    priority: isOffline ? 4 : 2,
    tags: isOffline ? ['warning', 'electric_plug'] : ['white_check_mark'],
    capturedAtMs: transition.atMs,
    isUpdate: false,
  }
}

/** A registered device the collector never heard from (since this start or its registration) has no time. */
function silence(lastSeenMs: number | null): string {
  return lastSeenMs === null
    ? 'Not heard from yet'
    : `Not heard from since ${new Date(lastSeenMs).toISOString()}`
}

/** The alert of a temperature anomaly (a doorbell in the sun, or a fire). */
export function temperatureAlert(anomaly: TemperatureAnomaly): Alert {
  const why =
    anomaly.reason === 'over_max'
      ? 'is above the safe maximum'
      : anomaly.reason === 'fast_rise'
        ? `is rising ${anomaly.value} °C per minute`
        : `is far from normal (z = ${anomaly.value})`
  return {
    id: newEventId(anomaly.atMs),
    tag: `temperature-${anomaly.deviceId}`,
    kind: 'temperature',
    deviceId: anomaly.deviceId,
    eventClass: 'medium',
    title: `Temperature alert: ${anomaly.deviceId}`,
    body: `${anomaly.sensor} reads ${anomaly.celsius} °C and ${why}.`,
    priority: 5,
    tags: ['fire', 'thermometer'],
    capturedAtMs: anomaly.atMs,
    isUpdate: false,
  }
}
