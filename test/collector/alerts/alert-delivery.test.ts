import { afterEach, describe, expect, it } from 'vitest'
import { FileDeadLetterLog } from '../../../collector/alerts/file-dead-letter-log.js'
import { signatureHeader, verifyWebhook } from '../../../collector/alerts/webhook-channel.js'
import { eventually } from '../../support/eventually.js'
import { press } from '../collector-harness.js'
import {
  type AlertingScenario,
  publishEnvelope,
  snapshotOf,
  startAlertingScenario,
} from './alerts-harness.js'

const secret = 'webhook-secret-0123456789'

describe('alert delivery through webhook and ntfy', () => {
  let scenario: AlertingScenario<'hook' | 'ntfy' | 'other'> | undefined

  afterEach(async () => {
    await scenario?.close()
    scenario = undefined
  })

  async function start(options: { hookStatuses?: number[]; attempts?: number; cooldownMs?: number } = {}) {
    scenario = await startAlertingScenario(
      'alerts-delivery',
      { hook: options.hookStatuses ?? [200], ntfy: [200], other: [200] },
      ({ hook, ntfy, other }) => ({
        publicUrl: 'https://door.example.org',
        channels: [
          { kind: 'webhook', name: 'hook', url: `${hook.url}/doorbell`, secret },
          { kind: 'ntfy', name: 'phone', serverUrl: ntfy.url, topic: 'alice-door', token: 'tk_abcdef' },
          { kind: 'webhook', name: 'other', url: other.url, secret },
        ],
        users: [
          { name: 'alice', channels: ['hook', 'phone', 'other'], cooldownMs: options.cooldownMs ?? 5_000 },
        ],
        retry: { attempts: options.attempts ?? 4, initialMs: 20, maxMs: 50 },
      }),
    )
    const { receivers, events, dir, running, device } = scenario
    return { ...receivers, events, dir, running, device }
  }

  it('signs the webhook with HMAC-SHA256 and sends ntfy priority, tags, click, Live action and attachment', async () => {
    const { hook, ntfy, device } = await start()
    const bell = press('front-door', 0)
    await publishEnvelope(device, bell)
    const hit = await eventually(() => hook.requests[0], 'webhook request', 5000)
    const body = hit.body.toString('utf8')
    expect(verifyWebhook(secret, body, String(hit.headers[signatureHeader]), Date.now() / 1000)).toBe(true)
    expect(
      verifyWebhook('another-secret-0123456', body, String(hit.headers[signatureHeader]), Date.now() / 1000),
    ).toBe(false)
    expect(verifyWebhook(secret, `${body} `, String(hit.headers[signatureHeader]), Date.now() / 1000)).toBe(
      false,
    )
    expect(JSON.parse(body)).toMatchObject({
      id: bell.id,
      tag: bell.id,
      kind: 'press',
      isUpdate: false,
      recipient: 'alice',
      deviceId: 'front-door',
      liveUrl: 'https://door.example.org/live/front-door',
    })

    const note = await eventually(() => ntfy.requests[0], 'ntfy request', 5000)
    expect(note.url).toBe('/alice-door')
    expect(note.headers).toMatchObject({
      'x-priority': '5',
      'x-tags': 'bell',
      'x-click': `https://door.example.org/events/${bell.id}`,
      'x-sequence-id': bell.id,
      'x-actions': 'view, Live, https://door.example.org/live/front-door',
      authorization: 'Bearer tk_abcdef',
    })

    // Notify first, enrich later: the snapshot updates the same notification (same tag, attachment).
    const picture = snapshotOf('front-door', 1, bell.id)
    await publishEnvelope(device, picture)
    const update = await eventually(() => ntfy.requests[1], 'ntfy update', 5000)
    expect(update.headers['x-sequence-id']).toBe(bell.id)
    // The snapshot route of the media routes (GET /api/events/:id/snapshot) serves it.
    expect(update.headers['x-attach']).toBe(`https://door.example.org/api/events/${picture.id}/snapshot`)
    expect(update.headers['x-actions']).toBe('view, Live, https://door.example.org/live/front-door')
    const hookUpdate = await eventually(() => hook.requests[1], 'webhook update', 5000)
    expect(JSON.parse(hookUpdate.body.toString('utf8'))).toMatchObject({
      tag: bell.id,
      isUpdate: true,
      snapshotId: picture.id,
    })
  })

  it('does not push a second press within the cooldown', async () => {
    const { hook, events, device, running } = await start()
    await publishEnvelope(device, press('front-door', 0))
    await publishEnvelope(device, press('front-door', 1))
    await eventually(
      () => events.some((e) => e.kind === 'suppressed' && e.reason === 'cooldown'),
      'suppression',
      5000,
    )
    await running.alerts.whenIdle()
    expect(hook.requests).toHaveLength(1)
  })

  it('retries a failing channel with backoff without holding up the other channels', async () => {
    const { hook, other, device, running } = await start({ hookStatuses: [503, 503, 200] })
    const bell = press('front-door', 0)
    await publishEnvelope(device, bell)
    await eventually(() => other.requests.length === 1, 'healthy channel delivered', 5000)
    await eventually(() => hook.requests.length === 3, 'third attempt', 5000)
    await running.alerts.whenIdle()
    expect(hook.requests.map((r) => JSON.parse(r.body.toString('utf8')).id)).toEqual([
      bell.id,
      bell.id,
      bell.id,
    ])
    // The healthy channel did not wait for the failing one's retries.
    expect(other.requests[0]?.atMs ?? Infinity).toBeLessThan(hook.requests[2]?.atMs ?? 0)
  })

  it('keeps storing, acking and delivering on other channels while one channel hangs', async () => {
    const { hook, other, device } = await start({ cooldownMs: 0 })
    hook.delayMs = 3000
    const client = device
    const acked = new Set<string>()
    client.on('message', (_topic, payload) => {
      for (const id of (JSON.parse(payload.toString('utf8')) as { payload: { ids: string[] } }).payload.ids)
        acked.add(id)
    })
    await client.subscribeAsync('doorbell/v1/front-door/ack', { qos: 1 })
    const first = press('front-door', 0)
    const second = press('front-door', 1)
    await publishEnvelope(client, first)
    await eventually(() => hook.requests.length === 1, 'hanging request started', 5000)
    const startedMs = Date.now()
    await publishEnvelope(client, second)
    await eventually(() => acked.has(first.id) && acked.has(second.id), 'both presses acked', 2000)
    await eventually(() => other.requests.length === 2, 'healthy channel delivered both', 2000)
    // Both happened while the slow channel was still holding its first request.
    expect(Date.now() - startedMs).toBeLessThan(3000)
    expect(hook.requests).toHaveLength(2)
  })

  it('records what still fails in the persisted dead-letter log', async () => {
    const { hook, dir, events, device } = await start({ hookStatuses: [500], attempts: 3 })
    const bell = press('front-door', 0)
    await publishEnvelope(device, bell)
    await eventually(
      () => events.some((e) => e.kind === 'delivery' && e.outcome.kind === 'dead_letter'),
      'dead letter',
      5000,
    )
    expect(hook.requests).toHaveLength(3)
    const letters = await new FileDeadLetterLog(`${dir}/alerts/dead-letters.jsonl`).list()
    expect(letters).toHaveLength(1)
    expect(letters[0]).toMatchObject({
      channel: 'hook',
      recipient: 'alice',
      attempts: 3,
      alert: { id: bell.id },
    })
  })

  it('measures the high-class SLA per channel as a histogram at /metrics', async () => {
    const { hook, device, running } = await start()
    await publishEnvelope(device, press('front-door', 0))
    await eventually(() => hook.requests[0], 'webhook request', 5000)
    await running.alerts.whenIdle()
    const text = await (await fetch(`http://127.0.0.1:${running.httpPort}/metrics`)).text()
    expect(text).toMatch(/doorbell_alerts_sla_latency_seconds_count\{class="high",channel="hook"\} 1/)
    expect(text).toMatch(/doorbell_alerts_sla_latency_seconds_bucket\{le="1",class="high",channel="hook"\} 1/)
  })
})
