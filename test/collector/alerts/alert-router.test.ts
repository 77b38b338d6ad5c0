import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import type { Alert } from '../../../collector/alerts/alert.js'
import type { AlertEvent } from '../../../collector/alerts/alert-event.js'
import { AlertMetrics } from '../../../collector/alerts/alert-metrics.js'
import { AlertRouter } from '../../../collector/alerts/alert-router.js'
import type { AlertUser } from '../../../collector/alerts/alerts-config.js'

const press: Alert = {
  id: '01J0000000000000000000000A',
  tag: '01J0000000000000000000000A',
  kind: 'press',
  deviceId: 'front-door',
  eventClass: 'high',
  title: 'Someone is at the door',
  body: 'front-door',
  priority: 5,
  tags: ['bell'],
  capturedAtMs: 0,
  isUpdate: false,
}

function user(name: string, extra: Partial<AlertUser> = {}): AlertUser {
  return { name, channels: [`${name}-phone`], kinds: ['press'], cooldownMs: 0, ...extra }
}

function rig(users: AlertUser[]) {
  const queued: string[] = []
  const events: AlertEvent[] = []
  const metrics = new AlertMetrics()
  const registry = new Registry()
  metrics.registerInto(registry)
  const router = new AlertRouter({
    lanes: { enqueue: (channel, _alert, recipient) => queued.push(`${recipient.name}@${channel}`) > 0 },
    users: () => users,
    operatorChannels: ['ops'],
    metrics,
    now: () => 12 * 3600_000,
    onEvent: (event) => void events.push(event),
  })
  return { router, queued, events, registry }
}

describe('alert router', () => {
  it('still alerts the other users when one user’s time zone is unknown, and reports and counts it', async () => {
    const quietHours = { start: '22:00', end: '07:00', timeZone: 'Mars/Olympus_Mons', allowKinds: [] }
    const { router, queued, events, registry } = rig([
      user('alice'),
      user('bob', { quietHours }),
      user('carol'),
    ])
    router.raise(press)
    expect(queued).toEqual(['alice@alice-phone', 'carol@carol-phone'])
    expect(events).toMatchObject([{ kind: 'routing_failed', user: 'bob', alertId: press.id }])
    expect(await registry.getSingleMetricAsString('doorbell_alerts_routing_failures_total')).toMatch(/ 1$/m)
  })

  it('sends operator alerts only to the operator’s channels', () => {
    const { router, queued } = rig([user('alice')])
    router.raiseOperator({ ...press, kind: 'sla' })
    expect(queued).toEqual(['operator@ops'])
  })

  it('routes nothing once closed', () => {
    const { router, queued } = rig([user('alice')])
    router.close()
    router.raise(press)
    expect(router.sendTest('alice')).toEqual([])
    expect(queued).toEqual([])
  })
})
