import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { stringify } from 'yaml'
import { collectorConfig } from '../collector/config.js'
import { type ComposedCollector, startCollector } from '../collector/main.js'
import { FileIdentityRegistry } from '../collector/registry/file-identity-registry.js'
import { chromiumPath, launchChromiumInNetns, signInFromPage } from './chromium.js'

/**
 * The parts bench/live-view.ts measures, the way test/system/live-view.test.ts runs them: the real collector
 * in this process, the built agent program (--simulate) in a network namespace as the Pi, Debian's Chromium
 * in a second namespace as the phone, each joined to this host by a veth pair (../shared/tools/netns-link.sh).
 */

const root = fileURLToPath(new URL('../../', import.meta.url))
export const netnsLinkScript = join(root, '..', 'shared', 'tools', 'netns-link.sh')
const builtAgentMain = join(root, 'dist', 'agent', 'main.js')

/** Why the rig cannot run here, or undefined. */
export function rigUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)'
  if (!existsSync(netnsLinkScript)) return `${netnsLinkScript} is missing`
  if (!existsSync(chromiumPath)) return `${chromiumPath} is missing`
  if (!existsSync(builtAgentMain)) return `${builtAgentMain} is missing: npm run build`
  return undefined
}

/** A namespace joined by a veth pair: 198.18.N.1 here, 198.18.N.2 there. */
export class BenchNetns {
  readonly hostIp: string
  readonly nsIp: string
  readonly nsInterface: string

  constructor(
    readonly name: string,
    readonly index: number,
  ) {
    this.hostIp = `198.18.${index}.1`
    this.nsIp = `198.18.${index}.2`
    this.nsInterface = `vn-${name.slice(0, 10)}`
  }

  up(): void {
    this.#link('down')
    this.#link('up')
    this.exec('ip', 'route', 'add', 'default', 'via', this.hostIp)
  }

  /** tbf on everything leaving the namespace, e.g. 2mbit. */
  rate(rate: string): void {
    this.#link('rate', rate)
  }

  down(): void {
    this.#link('down')
  }

  exec(...command: string[]): string {
    return execFileSync('ip', ['netns', 'exec', this.name, ...command], { stdio: 'pipe' }).toString()
  }

  #link(...args: string[]): void {
    execFileSync(netnsLinkScript, [args[0] as string, this.name, ...args.slice(1)], {
      env: { ...process.env, NETNS_INDEX: String(this.index) },
      stdio: 'pipe',
    })
  }
}

/** A webhook receiver: when each alert arrived (ms) and its body. */
export interface AlertReceiver {
  readonly url: string
  readonly arrivals: { atMs: number; body: string }[]
  close(): Promise<void>
}

export async function startAlertReceiver(host: string): Promise<AlertReceiver> {
  const arrivals: { atMs: number; body: string }[] = []
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = []
    req.on('data', (c: Buffer) => parts.push(c))
    req.on('end', () => {
      arrivals.push({ atMs: Date.now(), body: Buffer.concat(parts).toString('utf8') })
      res.writeHead(200).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    url: `http://${host}:${port}/hook`,
    arrivals,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        // The collector's webhook client keeps its connection alive; close would wait for it.
        server.closeAllConnections()
      }),
  }
}

/** The collector with live view on the Pi's link, one device and one owner. */
export async function startLiveCollector(options: {
  dir: string
  host: string
  hookUrl: string
  owner: { name: string; password: string }
}): Promise<{ collector: ComposedCollector; secret: string }> {
  const dataDir = join(options.dir, 'collector')
  await mkdir(dataDir, { recursive: true })
  const secret = await new FileIdentityRegistry(dataDir).addDevice('front-door')
  const collector = await startCollector(
    collectorConfig({
      dataDir,
      host: options.host,
      mqtt: { port: 0, wsPort: null },
      http: { port: 0, metricsAccess: 'public' },
      live: {
        udpPort: 0,
        bindAddress: options.host,
        fallback: { audio: process.env.BENCH_LIVE_FALLBACK_AUDIO !== '0' },
      },
      alerts: {
        channels: [
          { kind: 'webhook', name: 'hook', url: options.hookUrl, secret: 'webhook-secret-0123456789' },
        ],
        // No cooldown: every press of the benchmark is alerted, not only the first of each 30 s.
        users: [{ name: options.owner.name, channels: ['hook'], cooldownMs: 0 }],
      },
    }),
    {
      onEvent: (event) => {
        if (process.env.BENCH_DEBUG && !['stored', 'committed'].includes(event.kind))
          process.stderr.write(
            `EVENT ${JSON.stringify(event, (_k, v) => (typeof v === 'bigint' ? String(v) : v)).slice(0, 300)}\n`,
          )
      },
    },
  )
  await collector.stores.homeowners.add(options.owner.name, options.owner.password, 'owner')
  return { collector, secret }
}

/** The built agent program in the Pi's namespace; its PID (ip netns exec execs it) and control port. */
export interface BenchAgent {
  readonly child: ChildProcess
  readonly controlPort: number
  stop(): Promise<void>
}

export async function startBenchAgent(options: {
  dir: string
  netns: BenchNetns
  mqttUrl: string
  secret: string
  media: Record<string, unknown>
}): Promise<BenchAgent> {
  const file = join(options.dir, 'agent.yaml')
  await writeFile(
    file,
    stringify({
      deviceId: 'front-door',
      mqtt: {
        url: options.mqttUrl,
        username: 'front-door',
        password: options.secret,
        reconnectInitialMs: 50,
      },
      dataDir: join(options.dir, 'agent'),
      gpio: { button: { line: 17, debounceMs: 0 } },
      logLevel: 'info',
      health: { intervalMs: 600_000 },
      sensors: { temperature: { intervalMs: 600_000 }, light: { intervalMs: 600_000 } },
      media: options.media,
      control: { port: 0 },
    }),
  )
  const child = spawn(
    'ip',
    ['netns', 'exec', options.netns.name, process.execPath, builtAgentMain, '--simulate', '--config', file],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const controlPort = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('agent not ready in 30 s')), 30_000)
    child.once('exit', (code) => reject(new Error(`agent exited with ${code}`)))
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; controlPort?: number; level?: number }
        // Warnings and errors of the agent are worth seeing beside the table.
        if ((entry.level ?? 0) >= 40 || process.env.BENCH_DEBUG)
          process.stderr.write(`agent: ${line.slice(0, 400)}\n`)
        if (entry.msg === 'agent ready' && entry.controlPort) {
          clearTimeout(timer)
          resolve(entry.controlPort)
        }
      } catch {
        // not a log line
      }
    })
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    child,
    controlPort,
    stop: async () => {
      child.kill('SIGTERM')
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))])
    },
  }
}

/** CPU time (ms) of a process and every process below it, from /proc (Linux). */
export function treeCpuMs(pid: number): number {
  const stats = new Map<number, { ppid: number; ticks: number }>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const text = readFileSync(`/proc/${entry}/stat`, 'utf8')
      // The command name is in parentheses and may hold spaces: the fields follow the last ')'.
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
      stats.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) })
    } catch {
      // gone meanwhile
    }
  }
  let ticks = 0
  const queue = [pid]
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    ticks += stats.get(next)?.ticks ?? 0
    for (const [child, s] of stats) if (s.ppid === next) queue.push(child)
  }
  // Clock ticks are 100 per second on Linux (sysconf CLK_TCK).
  return ticks * 10
}

/** Forwards 127.0.0.1:<port> inside the namespace to host:port, so the page is a secure context there. */
export async function startForwarder(
  netns: BenchNetns,
  host: string,
  port: number,
): Promise<{ child: ChildProcess; port: number }> {
  const script = `const net=require('node:net');const s=net.createServer((c)=>{const u=net.connect(${port},'${host}');c.pipe(u).pipe(c);const x=()=>{c.destroy();u.destroy()};c.on('error',x);u.on('error',x)});s.listen(0,'127.0.0.1',()=>console.log(s.address().port))`
  const child = spawn('ip', ['netns', 'exec', netns.name, process.execPath, '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const line = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`forwarder exited with ${code}`)))
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve)
  })
  return { child, port: Number(line) }
}

/** Debian's Chromium in the phone's namespace with a fake camera and a microphone playing `audioFile`. */
export function launchChromium(netns: BenchNetns, dir: string, audioFile: string): Promise<Browser> {
  return launchChromiumInNetns(netns.name, dir, audioFile)
}

/** Signs a page in (from inside the browser) on the dashboard at base. */
export async function signIn(page: Page, base: string, name: string, password: string): Promise<void> {
  const status = await signInFromPage(page, base, name, password)
  if (status !== 200) throw new Error(`login: ${status}`)
}

/** What live.js exposes for tests and this benchmark. */
export interface LivePageStats {
  frames: number
  firstFrameMs?: number
  latenciesMs: number[]
}

export function liveStats(page: Page): Promise<LivePageStats> {
  return page.evaluate(() => {
    const s = (globalThis as unknown as { doorbellLive?: LivePageStats }).doorbellLive
    return { frames: s?.frames ?? 0, firstFrameMs: s?.firstFrameMs, latenciesMs: [...(s?.latenciesMs ?? [])] }
  })
}
