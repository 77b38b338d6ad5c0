import { type ChildProcess, spawn } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { type AddressInfo, connect, createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The three brokers the MQTT benchmarks compare, each in its own process so its CPU time and memory can
 * be read from /proc: the built doorbell-collector, bare aedes 1.2 (bench/bare-aedes-server.ts) and
 * Debian's mosquitto (persistence off, TCP_NODELAY on, anonymous).
 */

const here = dirname(fileURLToPath(import.meta.url))
/** The repository root (this file runs from dist/bench/). */
export const repoRoot = join(here, '..', '..')

export type BrokerKind = 'collector' | 'aedes' | 'mosquitto'

export interface BenchBroker {
  readonly kind: BrokerKind
  readonly port: number
  readonly pid: number
  /** CPU time (user + system) the broker process has used so far, in ms. */
  cpuMs(): number
  /** Resident memory of the broker process now, in KiB (VmRSS). */
  rssKiB(): number
  stop(): Promise<void>
}

export interface BrokerOptions {
  /** Folder for configs and data; for the collector it holds data/registry.json (the devices). */
  readonly dir: string
  /** Port to listen on; 0 picks a free one (a restart passes the port of the first start). */
  readonly port?: number
  /** Extra YAML lines of the collector's config. */
  readonly collectorConfig?: readonly string[]
  /** Extra node flags of the node brokers. */
  readonly nodeFlags?: readonly string[]
  /** Keep the collector's data folder of an earlier start (a restart); default a fresh copy. */
  readonly dataDir?: string
  /** The collector's log level (default info, its production default: one line per connection). */
  readonly logLevel?: 'info' | 'warn'
}

function procField(pid: number | undefined, file: 'stat' | 'status', read: (text: string) => number): number {
  try {
    return read(readFileSync(`/proc/${pid}/${file}`, 'utf8'))
  } catch {
    return Number.NaN
  }
}

function cpu(text: string): number {
  const fields = text.split(') ')[1]?.split(' ') ?? []
  // utime and stime are fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 per second).
  return (Number(fields[11]) + Number(fields[12])) * 10
}

function rss(text: string): number {
  return Number(/VmRSS:\s+(\d+)/.exec(text)?.[1])
}

function waitForLine(child: ChildProcess, match: (line: string) => number | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    let buffer = ''
    const timer = setTimeout(() => reject(new Error('broker did not start')), 30_000)
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString()
      for (const line of buffer.split('\n')) {
        const port = match(line)
        if (port !== undefined) {
          clearTimeout(timer)
          resolve(port)
        }
      }
      buffer = buffer.slice(buffer.lastIndexOf('\n') + 1)
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`broker exited with ${code}`))
    })
  })
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

/** A port free now on 127.0.0.1 (for a broker that must come back on the same port after a restart). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

function handle(kind: BrokerKind, child: ChildProcess, port: number): BenchBroker {
  // The child keeps running until stop(); its pipe must not keep this process from exiting on error.
  child.stdout?.resume()
  return {
    kind,
    port,
    pid: child.pid as number,
    cpuMs: () => procField(child.pid, 'stat', cpu),
    rssKiB: () => procField(child.pid, 'status', rss),
    stop: () => stopChild(child),
  }
}

/**
 * Starts one broker and resolves once it accepts connections. BENCH_BROKER_NODE_FLAGS adds node flags to
 * the node brokers (`--cpu-prof --cpu-prof-dir=/tmp/prof` profiles them).
 */
export async function startBenchBroker(kind: BrokerKind, given: BrokerOptions): Promise<BenchBroker> {
  const extraFlags = process.env.BENCH_BROKER_NODE_FLAGS?.split(' ').filter(Boolean) ?? []
  const options = { ...given, nodeFlags: [...(given.nodeFlags ?? []), ...extraFlags] }
  const { dir } = options
  if (kind === 'collector') {
    let dataDir = options.dataDir
    if (!dataDir) {
      // A fresh store per start (only the device registry is copied), so runs measure the same thing.
      dataDir = mkdtempSync(join(dir, 'data-'))
      cpSync(join(dir, 'data', 'registry.json'), join(dataDir, 'registry.json'))
    }
    const config = join(dir, 'collector.yaml')
    // A fixed port, so readiness is the port accepting (the ready line is not logged at warn).
    const port = options.port || (await freePort())
    writeFileSync(
      config,
      [
        `dataDir: ${dataDir}`,
        'host: 127.0.0.1',
        `logLevel: ${options.logLevel ?? 'info'}`,
        `mqtt: { port: ${port}, wsPort: null }`,
        'http: { port: null }',
        ...(options.collectorConfig ?? []),
      ].join('\n'),
    )
    const child = spawn(
      process.execPath,
      [...(options.nodeFlags ?? []), join(repoRoot, 'dist/collector/main.js'), '--config', config],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, DOORBELL_LOG_LEVEL: undefined } },
    )
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`collector exited with ${code}`))),
    )
    exited.catch(() => {})
    await Promise.race([waitForPort(port), exited])
    return handle(kind, child, port)
  }
  if (kind === 'aedes') {
    const child = spawn(
      process.execPath,
      [...(options.nodeFlags ?? []), join(repoRoot, 'dist/bench/bare-aedes-server.js')],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, BENCH_BROKER_PORT: String(options.port ?? 0) },
      },
    )
    const port = await waitForLine(child, (line) =>
      line.includes('"ready"') ? (JSON.parse(line) as { port: number }).port : undefined,
    )
    return handle(kind, child, port)
  }
  const port = options.port || (await freePort())
  const config = join(dir, 'mosquitto.conf')
  writeFileSync(
    config,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'log_dest none',
      'set_tcp_nodelay true',
      // Without it mosquitto caps connections at its own default limit.
      'max_connections -1',
      '',
    ].join('\n'),
  )
  const child = spawn('/usr/sbin/mosquitto', ['-c', config], { stdio: 'ignore' })
  await waitForPort(port)
  return handle(kind, child, port)
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port (within 15 s). */
async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    const isOpen = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy()
        resolve(true)
      })
      socket.on('error', () => resolve(false))
    })
    if (isOpen) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`nothing listens on ${port}`)
}
