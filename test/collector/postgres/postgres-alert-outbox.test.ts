import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Alert } from '../../../collector/alerts/alert.js'
import { DeliveryError, postWithTimeout } from '../../../collector/alerts/channel.js'
import {
  type OutboxDelivery,
  PostgresAlertOutbox,
  type SendDelivery,
} from '../../../collector/postgres/postgres-alert-outbox.js'
import type { PostgresDatabase } from '../../../collector/postgres/postgres-database.js'
import { newEventId } from '../../../shared/protocol/index.js'
import { eventually } from '../../support/eventually.js'
import { usePostgresSuite } from './postgres-suite.js'

/** A local webhook receiver that counts each delivery key it is sent. */
async function startReceiver(): Promise<{ server: Server; url: string; counts: Map<string, number> }> {
  const counts = new Map<string, number>()
  const server = createServer((req, res) => {
    const key = String(req.headers['x-doorbell-delivery'])
    counts.set(key, (counts.get(key) ?? 0) + 1)
    req.resume()
    req.on('end', () => res.end('ok'))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, counts }
}

function alert(priority: Alert['priority'], kind: Alert['kind'] = 'press'): Alert {
  const id = newEventId()
  return {
    id,
    tag: id,
    kind,
    deviceId: 'porch',
    eventClass: kind === 'press' ? 'high' : 'medium',
    title: kind,
    body: kind,
    priority,
    tags: [],
    capturedAtMs: Date.now(),
    isUpdate: false,
  }
}

const homeowner = { name: 'alice', isOperator: false }

describe('PostgresAlertOutbox', () => {
  const suite = usePostgresSuite()
  let receiver: Awaited<ReturnType<typeof startReceiver>>
  beforeAll(async () => {
    receiver = await startReceiver()
  })
  afterAll(() => receiver.server.close())

  const postToReceiver: SendDelivery = async (delivery, key) => {
    const response = await postWithTimeout(
      delivery.channel,
      receiver.url,
      {
        headers: { 'content-type': 'application/json', 'x-doorbell-delivery': key },
        body: JSON.stringify(delivery.alert),
      },
      5000,
    )
    if (!response.ok) throw new DeliveryError(`HTTP ${response.status}`, { isRetryable: true })
  }

  async function twoNodes(): Promise<[PostgresAlertOutbox, PostgresAlertOutbox, PostgresDatabase]> {
    const url = await suite.freshDatabase()
    const dbA = await suite.connect(url)
    const dbB = await suite.connect(url)
    const options = { maxAttempts: 3, backoffMs: () => 0 }
    return [
      new PostgresAlertOutbox(dbA, { ...options, nodeId: 'a' }),
      new PostgresAlertOutbox(dbB, { ...options, nodeId: 'b' }),
      dbA,
    ]
  }

  it('pushes each press once when two nodes queue it and both drain at the same time', async () => {
    const [a, b, db] = await twoNodes()
    const deliveries: OutboxDelivery[] = Array.from({ length: 60 }, () => ({
      alert: alert(5),
      channel: 'hook',
      recipient: homeowner,
    }))
    // Both nodes stored the same presses (a device resent them during a failover) and queue them.
    const queued = await Promise.all([a.enqueue(deliveries), b.enqueue(deliveries)])
    expect(queued[0] + queued[1]).toBe(60)
    const [byA, byB] = await Promise.all([a.drain(postToReceiver), b.drain(postToReceiver)])
    expect(byA.deliveredCount + byB.deliveredCount).toBe(60)
    const keys = deliveries.map((d) => `${d.alert.id}:hook:alice`)
    expect(keys.map((key) => receiver.counts.get(key))).toEqual(keys.map(() => 1))
    const rows = await db.query<{ n: string }>(
      "SELECT count(*) AS n FROM alert_outbox WHERE state = 'delivered'",
    )
    expect(Number(rows.rows[0]?.n)).toBe(60)
    expect(await a.pendingCount()).toBe(0)
  })

  it('sends a delivery again from another node when the node sending it dies before it finished', async () => {
    const [a, b, db] = await twoNodes()
    const press = alert(5)
    await a.enqueue([{ alert: press, channel: 'hook', recipient: homeowner }])
    let isSending = false
    let wakeA = (): void => {}
    // Node A takes the row and hangs in the middle of sending it, holding the row lock.
    const hung = a.drain(async () => {
      isSending = true
      await new Promise<void>((resolve) => {
        wakeA = resolve
      })
    })
    await eventually(() => isSending, 'node A to take the delivery')
    expect((await b.drain(postToReceiver)).deliveredCount).toBe(0)
    // Its node dies: PostgreSQL ends its session, rolls back its transaction and frees the row.
    await db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE state = 'idle in transaction' AND datname = current_database()`,
    )
    const byB = await eventually(async () => {
      const result = await b.drain(postToReceiver)
      return result.deliveredCount > 0 && result
    }, 'node B to send it')
    expect(byB.deliveredCount).toBe(1)
    expect(receiver.counts.get(`${press.id}:hook:alice`)).toBe(1)
    // Woken, node A cannot mark the row on its dead session: its pass fails, and nothing is sent twice.
    wakeA()
    await expect(hung).rejects.toThrow()
    expect(receiver.counts.get(`${press.id}:hook:alice`)).toBe(1)
  })

  it('retries a failing delivery and makes it dead after maxAttempts; a final refusal is dead at once', async () => {
    const [a, , db] = await twoNodes()
    await a.enqueue([
      { alert: alert(5), channel: 'flaky', recipient: homeowner },
      { alert: alert(5), channel: 'refusing', recipient: homeowner },
    ])
    const send: SendDelivery = async (delivery) => {
      throw new DeliveryError('nope', { isRetryable: delivery.channel === 'flaky' })
    }
    // No backoff here, so one pass takes the flaky delivery again until its attempts are spent.
    expect(await a.drain(send)).toEqual({ deliveredCount: 0, retriedCount: 2, deadCount: 2 })
    expect(await a.pendingCount()).toBe(0)
    const rows = await db.query<{ channel: string; attempts: number; state: string }>(
      'SELECT channel, attempts, state FROM alert_outbox ORDER BY channel',
    )
    expect(rows.rows).toEqual([
      { channel: 'flaky', attempts: 3, state: 'dead' },
      { channel: 'refusing', attempts: 1, state: 'dead' },
    ])
  })

  it('sends presses before lower-priority alerts queued earlier', async () => {
    const [a] = await twoNodes()
    const reading = alert(3, 'temperature')
    const press = alert(5)
    await a.enqueue([{ alert: reading, channel: 'hook', recipient: homeowner }])
    await a.enqueue([{ alert: press, channel: 'hook', recipient: homeowner }])
    const order: string[] = []
    await a.drain(async (delivery) => {
      order.push(delivery.alert.id)
    })
    expect(order).toEqual([press.id, reading.id])
  })
})
