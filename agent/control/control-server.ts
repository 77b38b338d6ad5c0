import { once } from 'node:events'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import type { Envelope } from '../../shared/protocol/index.js'
import type { RunningAgent } from '../agent.js'
import type { SimulatedHardware } from '../hardware.js'

/** A running control endpoint. */
export interface ControlServer {
  readonly port: number
  close(): Promise<void>
}

const maxBodyBytes = 4096

/**
 * node:http through require, not `import`: Node builds an ES module's namespace from every export of a
 * builtin, and reading node:http's lazy `WebSocket` export loads undici and compiles its WebAssembly
 * HTTP parser, about 9 MiB of resident memory the agent never uses (bench/agent-memory.ts).
 */
const { createServer } = createRequire(import.meta.url)('node:http') as typeof import('node:http')

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = ''
  for await (const chunk of req) {
    text += String(chunk)
    if (text.length > maxBodyBytes) throw new Error('body too large')
  }
  if (text.trim() === '') return {}
  const value: unknown = JSON.parse(text)
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new Error('expected a JSON object')
  return value as Record<string, unknown>
}

/**
 * True for a Host header naming this machine's loopback (127.0.0.1, localhost, [::1], any port). A page
 * elsewhere can point its own hostname at 127.0.0.1 (DNS rebinding); its requests carry that name and
 * are refused, so only local tools reach the twins.
 */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : (host.split(':')[0] ?? '')
  return name === '127.0.0.1' || name === 'localhost' || name === '[::1]'
}

/**
 * True for a request whose body is declared JSON. A cross-site form or `fetch` without a CORS preflight
 * can only send text/plain, form or multipart bodies; answering no preflight and requiring JSON keeps
 * other sites' pages from pressing the button.
 */
function isJsonRequest(req: IncomingMessage): boolean {
  const type = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase()
  return type === 'application/json'
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

/**
 * Hands each recorded event of a type to the oldest request still waiting for one, so two presses in
 * flight get their own events, not both the first one.
 */
class RecordedEventWaiters {
  readonly #waiting = new Map<string, Array<(envelope: Envelope | undefined) => void>>()

  constructor(agent: RunningAgent) {
    agent.on('recorded', (envelope) => this.#waiting.get(envelope.type)?.shift()?.(envelope))
  }

  /** Resolves with the next unclaimed event of the type, or undefined after timeoutMs. */
  next(type: string, timeoutMs: number): Promise<Envelope | undefined> {
    return new Promise((resolve) => {
      const queue = this.#waiting.get(type) ?? []
      this.#waiting.set(type, queue)
      const timer = setTimeout(() => {
        queue.splice(queue.indexOf(waiter), 1)
        resolve(undefined)
      }, timeoutMs)
      const waiter = (envelope: Envelope | undefined) => {
        clearTimeout(timer)
        resolve(envelope)
      }
      queue.push(waiter)
    })
  }
}

function numberField(body: Record<string, unknown>, field: string, min: number, max: number): number {
  const value = body[field]
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${field}: expected a number in ${min}..${max}`)
  }
  return value
}

/**
 * The simulated twins' control endpoint (agent --simulate only): HTTP on 127.0.0.1, so tests and the
 * demo can act like a person at the door. Requests must name a loopback Host, and a POST must be
 * `content-type: application/json` (403 and 415 otherwise). Routes (JSON bodies):
 *   POST /button/press            -> 200 {id, seq} once the press is durably recorded
 *   POST /motion                  -> 200 {id, seq, class: high} when armed, {class: medium} otherwise
 *   POST /temperature {celsius}   -> sets the DS18B20 twin and samples now
 *   POST /light {lux}             -> sets the BH1750 twin and samples now
 *   POST /armed {armed}           -> arms or disarms
 *   GET  /state                   -> {deviceId, isOnline, isArmed, lastSeq, outbox}
 */
export async function startControlServer(
  agent: RunningAgent,
  hardware: SimulatedHardware,
  options: { host: '127.0.0.1'; port: number },
): Promise<ControlServer> {
  const waiters = new RecordedEventWaiters(agent)
  const routes: Record<string, (body: Record<string, unknown>) => Promise<[number, unknown]>> = {
    'POST /button/press': async () => {
      const recorded = waiters.next('button.press', 2_000)
      hardware.button.pulse(100)
      const envelope = await recorded
      return envelope
        ? [200, { id: envelope.id, seq: envelope.seq }]
        : [409, { error: 'press ignored (debounce)' }]
    },
    'POST /motion': async () => {
      const isArmed = agent.isArmed
      const recorded = isArmed ? waiters.next('motion', 2_000) : Promise.resolve(undefined)
      hardware.motion.pulse(1_000)
      const envelope = await recorded
      if (!isArmed) return [200, { class: 'medium' }]
      return envelope
        ? [200, { id: envelope.id, seq: envelope.seq, class: 'high' }]
        : [409, { error: 'motion ignored (debounce)' }]
    },
    'POST /temperature': async (body) => {
      hardware.temperature.celsius = numberField(body, 'celsius', -60, 150)
      await agent.sampleNow()
      return [200, { celsius: hardware.temperature.celsius }]
    },
    'POST /light': async (body) => {
      hardware.light.lux = numberField(body, 'lux', 0, 200_000)
      await agent.sampleNow()
      return [200, { lux: hardware.light.lux }]
    },
    'POST /armed': async (body) => {
      if (typeof body.armed !== 'boolean') throw new Error('armed: expected true or false')
      agent.setArmed(body.armed)
      return [200, { armed: agent.isArmed }]
    },
    'GET /state': async () => [
      200,
      {
        deviceId: agent.deviceId,
        isOnline: agent.uplink.isOnline,
        isArmed: agent.isArmed,
        lastSeq: agent.outbox.lastSeq,
        outbox: agent.outbox.depth(),
      },
    ],
  }
  const server: Server = createServer((req, res) => {
    if (!isLoopbackHost(req.headers.host)) {
      send(res, 403, { error: 'Host must be 127.0.0.1, localhost or [::1]' })
      return
    }
    if (req.method !== 'GET' && !isJsonRequest(req)) {
      send(res, 415, { error: 'send content-type: application/json' })
      return
    }
    const route = routes[`${req.method} ${(req.url ?? '').split('?')[0]}`]
    if (!route) {
      send(res, 404, { error: 'unknown route', routes: Object.keys(routes) })
      return
    }
    readJson(req)
      .then(route)
      .then(([status, body]) => send(res, status, body))
      .catch((err: Error) => send(res, 400, { error: err.message }))
  })
  server.listen(options.port, options.host)
  await once(server, 'listening')
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
