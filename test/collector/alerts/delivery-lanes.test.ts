import { describe, expect, it } from 'vitest'
import type { Alert } from '../../../collector/alerts/alert.js'
import { type Channel, DeliveryError } from '../../../collector/alerts/channel.js'
import type { DeadLetter, DeadLetterLog } from '../../../collector/alerts/dead-letter-log.js'
import { DeliveryLanes, type DeliveryOutcome } from '../../../collector/alerts/delivery-lanes.js'
import { UserAlertPolicy } from '../../../collector/alerts/user-policy.js'

const alert: Alert = {
  id: '01JAAAAAAAAAAAAAAAAAAAAAAA',
  tag: '01JAAAAAAAAAAAAAAAAAAAAAAA',
  kind: 'press',
  deviceId: 'front-door',
  eventClass: 'high',
  title: 't',
  body: 'b',
  priority: 5,
  tags: [],
  capturedAtMs: 0,
  isUpdate: false,
}
const alice = { name: 'alice', isOperator: false }

class MemoryDeadLetters implements DeadLetterLog {
  readonly letters: DeadLetter[] = []
  async append(letter: DeadLetter): Promise<void> {
    this.letters.push(letter)
  }
  async list(): Promise<DeadLetter[]> {
    return this.letters
  }
}

function lanes(channel: Channel, retry = { attempts: 3, initialMs: 1, maxMs: 2, queueLimit: 10 }) {
  const deadLetters = new MemoryDeadLetters()
  const outcomes: DeliveryOutcome[] = []
  const subject = new DeliveryLanes({
    channels: [channel],
    retry,
    deadLetters,
    onOutcome: (o) => outcomes.push(o),
    random: () => 1,
  })
  return { subject, deadLetters, outcomes }
}

describe('delivery lanes', () => {
  it('backs off exponentially up to the cap', () => {
    const { subject } = lanes(
      { name: 'c', kind: 'x', send: async () => {} },
      {
        attempts: 5,
        initialMs: 100,
        maxMs: 350,
        queueLimit: 10,
      },
    )
    expect([1, 2, 3, 4].map((n) => subject.backoffMs(n))).toEqual([100, 200, 350, 350])
  })

  it('does not retry a permanent failure (HTTP 400) and dead-letters it at once', async () => {
    let calls = 0
    const { subject, deadLetters } = lanes({
      name: 'c',
      kind: 'x',
      send: async () => {
        calls += 1
        throw new DeliveryError('c: HTTP 400', { isRetryable: false, status: 400 })
      },
    })
    subject.enqueue('c', alert, alice)
    await subject.whenIdle()
    expect(calls).toBe(1)
    expect(deadLetters.letters).toMatchObject([{ channel: 'c', attempts: 1, error: 'c: HTTP 400' }])
  })

  it('dead-letters deliveries still waiting for a retry when it closes', async () => {
    const { subject, deadLetters, outcomes } = lanes(
      {
        name: 'c',
        kind: 'x',
        send: async () => {
          throw new Error('down')
        },
      },
      { attempts: 5, initialMs: 60_000, maxMs: 60_000, queueLimit: 10 },
    )
    subject.enqueue('c', alert, alice)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(outcomes.map((o) => o.kind)).toEqual(['retry'])
    await subject.close()
    expect(deadLetters.letters).toHaveLength(1)
    expect(subject.enqueue('c', alert, alice)).toBe(false)
  })
})

describe('user alert policy', () => {
  const user = { name: 'alice', channels: [], kinds: ['press' as const], cooldownMs: 1000 }

  it('sends an update only to users the first alert reached', () => {
    const policy = new UserAlertPolicy()
    const bob = { ...user, name: 'bob', kinds: ['motion' as const] }
    expect(policy.decide(user, alert, 0)).toBeUndefined()
    expect(policy.decide(bob, alert, 0)).toBe('kind_off')
    const update = { ...alert, id: '01JBBBBBBBBBBBBBBBBBBBBBBB', isUpdate: true }
    expect(policy.decide(user, update, 10)).toBeUndefined()
    expect(policy.decide(bob, update, 10)).toBe('parent_suppressed')
    expect(policy.decide(user, { ...alert, id: 'x', tag: 'x' }, 500)).toBe('cooldown')
    expect(policy.decide(user, { ...alert, id: 'y', tag: 'y' }, 1000)).toBeUndefined()
  })

  it('holds back kinds not allowed during quiet hours', () => {
    const policy = new UserAlertPolicy()
    const night = Date.UTC(2026, 0, 1, 23, 0)
    const quiet = { ...user, kinds: ['press' as const, 'motion' as const] }
    const withQuiet = {
      ...quiet,
      quietHours: { start: '22:00', end: '07:00', timeZone: 'UTC', allowKinds: ['press' as const] },
    }
    expect(policy.decide(withQuiet, { ...alert, kind: 'motion' }, night)).toBe('quiet_hours')
    expect(policy.decide(withQuiet, alert, night)).toBeUndefined()
  })
})
