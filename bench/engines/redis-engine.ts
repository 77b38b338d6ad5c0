import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { requireRedisServer } from './engine-binaries.js'
import { type EngineProcess, spawnEngine } from './engine-process.js'
import { withFreePort } from './free-port.js'

/** Options of a test Redis server. */
export interface RedisEngineOptions {
  /** Append-only file with fsync every second, so a restart keeps sessions (engine-restart tests). */
  readonly isPersistent?: boolean
}

/** A real redis-server on 127.0.0.1, in its own temporary folder. */
export interface RedisEngine {
  readonly port: number
  readonly url: string
  readonly process: EngineProcess
  /** SIGTERM (Redis saves its AOF and exits); start() runs it again on the same port. */
  stop(): Promise<void>
  start(): Promise<void>
  kill9(): Promise<void>
  /** Stops it and removes its folder. */
  close(): Promise<void>
}

/** Starts redis-server in the foreground on a free loopback port. */
export async function startRedis(options: RedisEngineOptions = {}): Promise<RedisEngine> {
  const command = requireRedisServer()
  const dir = mkdtempSync(join(tmpdir(), 'doorbell-redis-'))
  const spawnAt = (port: number): Promise<EngineProcess> =>
    spawnEngine({
      name: 'redis-server',
      command,
      args: [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--daemonize',
        'no',
        '--appendonly',
        options.isPersistent ? 'yes' : 'no',
        '--appendfsync',
        'everysec',
        // Thousands of idle test devices each hold a subscriber connection through the brokers.
        '--maxclients',
        '20000',
      ],
      options: { cwd: dir },
      ready: /Ready to accept connections/,
    })
  let port = 0
  let current = await withFreePort(async (candidate) => {
    const started = await spawnAt(candidate)
    port = candidate
    return started
  })
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get process() {
      return current
    },
    stop: () => current.stop('SIGTERM'),
    async start() {
      if (current.isRunning) return
      current = await spawnAt(port)
    },
    kill9: () => current.kill9(),
    async close() {
      await current.stop('SIGTERM')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
