import { afterEach, describe, expect, it } from 'vitest'
import { type RunningAgent, startAgent } from '../../../agent/agent.js'
import { SystemClock } from '../../../agent/clock/clock.js'
import { type ControlServer, startControlServer } from '../../../agent/control/control-server.js'
import { createSimulatedHardware } from '../../../agent/hardware.js'
import { MemoryOutboxStore } from '../../../agent/outbox/memory-outbox-store.js'
import { LoopbackUplink } from '../../../agent/uplink/loopback-uplink.js'
import { eventually } from '../../support/eventually.js'
import { testAgentConfig } from '../support/agent-config.js'

describe('control endpoint of the simulated twins', () => {
  let agent: RunningAgent | undefined
  let control: ControlServer | undefined
  let uplink: LoopbackUplink

  async function start() {
    const clock = new SystemClock()
    const hardware = createSimulatedHardware(clock)
    uplink = new LoopbackUplink('front-door')
    agent = await startAgent(
      testAgentConfig({ mqtt: { url: 'loopback:' }, gpio: { motion: { line: 27, debounceMs: 0 } } }),
      {
        hardware,
        clock,
        uplink,
        store: new MemoryOutboxStore(),
      },
    )
    control = await startControlServer(agent, hardware, { host: '127.0.0.1', port: 0 })
    const base = `http://127.0.0.1:${control.port}`
    const post = async (path: string, body: unknown = {}) => {
      const res = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      return { status: res.status, body: (await res.json()) as Record<string, unknown> }
    }
    return { post, base }
  }

  afterEach(async () => {
    await control?.close()
    await agent?.close()
  })

  it('presses the button and answers with the recorded event id', async () => {
    const { post } = await start()
    const res = await post('/button/press')
    expect(res.status).toBe(200)
    await eventually(() => uplink.stored.has(String(res.body.id)), 'press delivered')
    expect(uplink.stored.get(String(res.body.id))?.type).toBe('button.press')
  })

  it('sends motion as high only when armed', async () => {
    const { post } = await start()
    expect((await post('/motion')).body).toEqual({ class: 'medium' })
    await post('/armed', { armed: true })
    const armed = await post('/motion')
    expect(armed.body.class).toBe('high')
  })

  it('sets temperature and light and the readings arrive in a medium batch', async () => {
    const { post } = await start()
    await post('/temperature', { celsius: 31.5 })
    await post('/light', { lux: 1234 })
    await eventually(
      () =>
        [...uplink.stored.values()].some((e) => e.type === 'temperature' && e.payload.celsius === 31.5) &&
        [...uplink.stored.values()].some((e) => e.type === 'light' && e.payload.lux === 1234),
      'readings delivered',
    )
    const topics = uplink.received
      .filter((m) => m.envelopes.some((e) => e.type === 'temperature'))
      .map((m) => m.topic)
    expect(topics.every((t) => t.endsWith('/batch/medium'))).toBe(true)
  })

  it('rejects bad input with 400 and unknown routes with 404', async () => {
    const { post, base } = await start()
    expect((await post('/temperature', { celsius: 'hot' })).status).toBe(400)
    expect((await fetch(`${base}/nope`)).status).toBe(404)
  })

  it('refuses a cross-site text/plain POST, which a page elsewhere could send without a preflight', async () => {
    const { base } = await start()
    const res = await fetch(`${base}/button/press`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'text/plain' },
    })
    expect(res.status).toBe(415)
    // The agent records readings of its own at start, so count presses: once an accepted press is stored,
    // it must be the only one.
    const accepted = await fetch(`${base}/button/press`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    })
    const { id } = (await accepted.json()) as { id: string }
    const presses = () => [...uplink.stored.values()].filter((e) => e.type === 'button.press')
    await eventually(() => presses().length > 0, 'the accepted press is stored')
    expect(presses().map((e) => e.id)).toEqual([id])
  })

  it('refuses a request whose Host is not a loopback name (DNS rebinding)', async () => {
    const { base } = await start()
    const { request } = await import('node:http')
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/state`, { headers: { host: 'evil.example:80' } }, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on('error', reject)
      req.end()
    })
    expect(status).toBe(403)
    expect((await fetch(`${base}/state`)).status).toBe(200)
  })
})
