import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { requireHaproxy } from './engine-binaries.js'
import { type EngineProcess, spawnEngine } from './engine-process.js'
import { freeLoopbackPort, isListening } from './free-port.js'

/** One TCP service HAProxy balances: a frontend port and the nodes' ports behind it. */
export interface HaproxyService {
  readonly name: string
  /** Ports on 127.0.0.1 of the nodes, in node order (server names n1, n2, ...). */
  readonly backendPorts: readonly number[]
}

/** Options of a test HAProxy. */
export interface HaproxyEngineOptions {
  readonly services: readonly HaproxyService[]
  /** Health-check interval; a dead node is out of rotation after two failed checks. */
  readonly checkIntervalMs?: number
}

/** A real HAProxy in TCP mode on 127.0.0.1. */
export interface HaproxyEngine {
  /** The frontend port of each service, by name. */
  readonly ports: Readonly<Record<string, number>>
  readonly process: EngineProcess
  /** Sends a command to the admin socket (e.g. `disable server mqtt/n1`) and returns its answer. */
  command(line: string): Promise<string>
  close(): Promise<void>
}

/**
 * Starts HAProxy in the foreground (-db) with one TCP frontend and backend per service. Each node is
 * health-checked by TCP connect; on-marked-down cuts its sessions, so clients reconnect to a live node.
 */
export async function startHaproxy(options: HaproxyEngineOptions): Promise<HaproxyEngine> {
  const command = requireHaproxy()
  const dir = mkdtempSync(join(tmpdir(), 'doorbell-haproxy-'))
  const socketPath = join(dir, 'admin.sock')
  const checkMs = options.checkIntervalMs ?? 250
  const ports: Record<string, number> = {}
  for (const service of options.services) ports[service.name] = await freeLoopbackPort()
  const lines = [
    'global',
    '  maxconn 9000',
    `  stats socket ${socketPath} mode 600 level admin`,
    'defaults',
    '  mode tcp',
    // A connect refused by a node that just died is tried again, the last time on another node; the wait
    // before a retry is min(timeout connect, 1 s), so a short connect timeout keeps a failover quick.
    '  timeout connect 500ms',
    // A health check waits longer than a connect: a node that is slow to accept under load must not be
    // marked down, or its sessions are cut and its devices pile onto the others.
    '  timeout check 3s',
    '  retries 2',
    '  option redispatch',
    // Longer than any MQTT keepalive: the broker, not the proxy, decides when an idle device is gone.
    '  timeout client 15m',
    '  timeout server 15m',
    ...options.services.flatMap((service) => [
      `frontend ${service.name}`,
      `  bind 127.0.0.1:${ports[service.name]}`,
      `  default_backend ${service.name}`,
      `backend ${service.name}`,
      '  balance leastconn',
      ...service.backendPorts.map(
        (port, i) =>
          // slowstart: a node that comes back takes new devices gradually, not the whole reconnecting herd.
          `  server n${i + 1} 127.0.0.1:${port} check inter ${checkMs}ms fall 2 rise 2 slowstart 3s on-marked-down shutdown-sessions`,
      ),
    ]),
  ]
  const configFile = join(dir, 'haproxy.cfg')
  writeFileSync(configFile, `${lines.join('\n')}\n`)
  const frontendPorts = Object.values(ports)
  const process = await spawnEngine({
    name: 'haproxy',
    command,
    args: ['-db', '-f', configFile],
    options: { cwd: dir },
    ready: async () => (await Promise.all(frontendPorts.map(isListening))).every(Boolean),
  })
  return {
    ports,
    process,
    command: (line) => adminCommand(socketPath, line),
    async close() {
      await process.stop('SIGTERM', 5000)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

function adminCommand(socketPath: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath)
    let answer = ''
    socket.on('data', (data) => {
      answer += String(data)
    })
    socket.once('error', reject)
    socket.once('end', () => resolve(answer))
    socket.once('connect', () => socket.write(`${line}\n`))
  })
}
