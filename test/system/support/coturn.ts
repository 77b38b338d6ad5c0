import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

/** Debian's coturn. */
export const turnserverPath = '/usr/bin/turnserver'

/** A coturn the test started, with the TURN REST secret the collector shares. */
export interface Coturn {
  readonly ip: string
  readonly port: number
  readonly lines: string[]
  /** `turn:` URL of this server over one transport. */
  url(transport: 'udp' | 'tcp'): string
  stop(): Promise<void>
}

/** A TCP port that is free on `ip` now (coturn listens on the same number for UDP and TCP). */
async function freePort(ip: string): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, ip, resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

async function isListening(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, ip)
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/**
 * Starts coturn as a TURN REST server (`use-auth-secret`, `static-auth-secret`, the setup of
 * deploy/collector/compose.yaml) listening on `ip`, relaying from `relayIp`; its database in `dir`.
 */
export async function startCoturn(options: {
  ip: string
  relayIp: string
  secret: string
  dir: string
}): Promise<Coturn> {
  const port = await freePort(options.ip)
  // A relay range of its own per test process, so two runs never hand out the same relay port.
  const minPort = 50_000 + (process.pid % 300) * 50
  const child: ChildProcess = spawn(
    turnserverPath,
    [
      '-n',
      `--listening-ip=${options.ip}`,
      `--listening-port=${port}`,
      `--relay-ip=${options.relayIp}`,
      `--min-port=${minPort}`,
      `--max-port=${minPort + 49}`,
      '--use-auth-secret',
      `--static-auth-secret=${options.secret}`,
      '--realm=doorbell',
      '--fingerprint',
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      '--no-multicast-peers',
      `--db=${join(options.dir, 'turndb')}`,
      '--log-file=stdout',
      '--simple-log',
      // Verbose: one line per allocation and permission, with the user name (tests check who was let in).
      '-V',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const lines: string[] = []
  // Whole lines (a chunk may end inside one), bounded: a long relayed session logs its traffic too.
  const collect = (line: string) => {
    if (line) lines.push(line)
    if (lines.length > 5000) lines.splice(0, lines.length - 5000)
  }
  if (child.stdout) createInterface({ input: child.stdout }).on('line', collect)
  if (child.stderr) createInterface({ input: child.stderr }).on('line', collect)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const deadline = Date.now() + 10_000
  while (!(await isListening(options.ip, port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`coturn did not start: ${lines.slice(-5).join(' | ')}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    ip: options.ip,
    port,
    lines,
    url: (transport) => `turn:${options.ip}:${port}?transport=${transport}`,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM')
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))])
      if (child.exitCode === null) child.kill('SIGKILL')
    },
  }
}

/** Why coturn cannot be used here, or undefined. */
export function coturnUnavailableReason(): string | undefined {
  return existsSync(turnserverPath) ? undefined : `${turnserverPath} is missing (Debian package coturn)`
}
