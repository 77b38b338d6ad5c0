import { describe, expect, it } from 'vitest'
import type { CollectorEvent } from '../../../collector/events/collector-event.js'
import { CollectorEventBus } from '../../../collector/events/event-bus.js'

function rig() {
  const failures: string[] = []
  const bus = new CollectorEventBus({
    countFailure: (listener, event) => failures.push(`${listener} ${event}`),
  })
  const seen: string[] = []
  return { bus, failures, seen }
}

const presence: CollectorEvent = { kind: 'presence', deviceId: 'porch', state: 'online' }

describe('collector event bus', () => {
  it('keeps calling the other listeners when one throws, and reports and counts the failure', () => {
    const { bus, failures, seen } = rig()
    const reports: CollectorEvent[] = []
    bus.on('presence', 'faulty', () => {
      throw new Error('boom')
    })
    bus.on('presence', 'healthy', (event) => seen.push(event.deviceId))
    bus.onAny('log', (event) => reports.push(event))
    bus.emit(presence)
    expect(seen).toEqual(['porch'])
    expect(failures).toEqual(['faulty presence'])
    expect(reports.map((e) => e.kind)).toEqual(['listener_failed', 'presence'])
    expect(reports[0]).toMatchObject({ listener: 'faulty', event: 'presence', err: new Error('boom') })
  })

  it('counts a failing listener of failures without reporting it again', () => {
    const { bus, failures } = rig()
    bus.on('presence', 'faulty', () => {
      throw new Error('first')
    })
    bus.on('listener_failed', 'alarm', () => {
      throw new Error('second')
    })
    bus.emit(presence)
    expect(failures).toEqual(['faulty presence', 'alarm listener_failed'])
  })

  it('calls listeners in the order they subscribed, kind listeners before the ones of every kind', () => {
    const { bus, seen } = rig()
    bus.onAny('log', () => seen.push('any'))
    bus.on('presence', 'first', () => seen.push('first'))
    bus.on('presence', 'second', () => seen.push('second'))
    bus.on('stored', 'other', () => seen.push('other'))
    bus.emit(presence)
    expect(seen).toEqual(['first', 'second', 'any'])
  })

  it('removes every listener of an owner at once', () => {
    const { bus, seen } = rig()
    bus.on('presence', 'leaving', () => seen.push('kind'))
    bus.onAny('leaving', () => seen.push('any'))
    bus.on('presence', 'staying', () => seen.push('staying'))
    bus.removeListeners('leaving')
    bus.emit(presence)
    expect(seen).toEqual(['staying'])
  })
})
