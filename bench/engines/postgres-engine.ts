import { execFileSync } from 'node:child_process'
import { chownSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { requirePostgresBinaries } from './engine-binaries.js'
import { type EngineProcess, spawnEngine } from './engine-process.js'
import { withFreePort } from './free-port.js'

/** The superuser initdb creates; every test database belongs to it. */
const superuser = 'doorbell'

/** Options of a test PostgreSQL server. */
export interface PostgresEngineOptions {
  /**
   * fsync on (benchmarks). Off by default, which is still crash-safe for kill -9 of PostgreSQL or of a
   * node (commits stay synchronous, the WAL reaches the OS before a commit returns); only a power cut of
   * the test machine could lose data, and tests run faster.
   */
  readonly isDurable?: boolean
  /** max_connections of the server. */
  readonly maxConnections?: number
}

/** A real PostgreSQL server on 127.0.0.1, in its own temporary data folder. */
export interface PostgresEngine {
  readonly port: number
  readonly process: EngineProcess
  /** A connection URL for a database on this server. */
  url(database?: string): string
  /**
   * Makes a database, empty or copied from template (CREATE DATABASE ... TEMPLATE: milliseconds, where
   * migrating anew takes much longer), and returns its URL.
   */
  createDatabase(name: string, template?: string): Promise<string>
  /**
   * Makes database name once (setup runs migrations in it, and must close its connections), for
   * createDatabase(other, name) to copy.
   */
  createTemplate(name: string, setup: (url: string) => Promise<void>): Promise<string>
  /** Fast shutdown (SIGINT: open transactions roll back), data kept; start() runs it again on the same port. */
  stop(): Promise<void>
  /** Starts it again after stop() or kill9(), on the same port with the same data. */
  start(): Promise<void>
  /** SIGKILL: PostgreSQL recovers from its WAL at the next start. */
  kill9(): Promise<void>
  /** Stops it and removes its data folder. */
  close(): Promise<void>
}

/** uid and gid of the `postgres` user, when running as root (PostgreSQL refuses to run as root). */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
    return { uid, gid }
  } catch (err) {
    throw new Error(
      'PostgreSQL refuses to run as root and there is no `postgres` user to run it as.\n  fix: sudo apt-get install -y postgresql (it creates the user)',
      { cause: err },
    )
  }
}

function ownTo(path: string, user: { uid: number; gid: number } | undefined): void {
  if (user) chownSync(path, user.uid, user.gid)
}

/**
 * Where initdb's result is kept for the whole test run: TEST_ENGINE_CACHE_DIR (test/global-setup.ts
 * sets it to a folder it removes at the end), else a folder of this process.
 */
function cacheDir(user: { uid: number; gid: number } | undefined): string {
  const fromEnv = process.env.TEST_ENGINE_CACHE_DIR
  const dir = fromEnv ?? join(tmpdir(), `doorbell-engines-${process.pid}`)
  if (!fromEnv && !existsSync(dir)) process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  mkdirSync(dir, { recursive: true, mode: 0o755 })
  ownTo(dir, user)
  return dir
}

/**
 * An initdb'd cluster to copy (cp -a takes ~70 ms where initdb takes over a second). Made once per run:
 * each process initdb's into its own folder and renames it into place; a loser of that race uses the winner's.
 */
function templateCluster(initdb: string, user: { uid: number; gid: number } | undefined): string {
  const root = cacheDir(user)
  const template = join(root, 'pg-cluster')
  if (existsSync(join(template, 'PG_VERSION'))) return template
  const mine = join(root, `pg-cluster-${process.pid}-${Date.now()}`)
  execFileSync(
    initdb,
    ['-D', mine, '-A', 'trust', '-U', superuser, '-E', 'UTF8', '--no-locale', '--no-sync'],
    {
      stdio: 'pipe',
      ...(user ?? {}),
    },
  )
  try {
    renameSync(mine, template)
  } catch {
    rmSync(mine, { recursive: true, force: true })
  }
  return template
}

/** Starts PostgreSQL on a free loopback port from a copy of the run's initdb'd cluster. */
export async function startPostgres(options: PostgresEngineOptions = {}): Promise<PostgresEngine> {
  const binaries = requirePostgresBinaries()
  const user = postgresUser()
  const template = templateCluster(binaries.initdb, user)
  const home = mkdtempSync(join(tmpdir(), 'doorbell-pg-'))
  ownTo(home, user)
  const dataDir = join(home, 'data')
  execFileSync('cp', ['-a', template, dataDir])
  const settings = [
    'listen_addresses=127.0.0.1',
    'unix_socket_directories=',
    `max_connections=${options.maxConnections ?? 200}`,
    ...(options.isDurable ? [] : ['fsync=off', 'full_page_writes=off']),
  ]
  const spawnAt = (port: number): Promise<EngineProcess> =>
    spawnEngine({
      name: 'postgresql',
      command: binaries.postgres,
      args: ['-D', dataDir, '-p', String(port), ...settings.flatMap((s) => ['-c', s])],
      options: { cwd: home, ...(user ?? {}) },
      ready: /database system is ready to accept connections/,
    })
  let port = 0
  let current = await withFreePort(async (candidate) => {
    const started = await spawnAt(candidate)
    port = candidate
    return started
  })
  const url = (database = 'postgres'): string => `postgres://${superuser}@127.0.0.1:${port}/${database}`
  const admin = async <T>(run: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: url() })
    await client.connect()
    try {
      return await run(client)
    } finally {
      await client.end()
    }
  }
  const createDatabase = async (name: string, from?: string): Promise<string> => {
    const sql = `CREATE DATABASE ${pg.escapeIdentifier(name)}${from ? ` TEMPLATE ${pg.escapeIdentifier(from)}` : ''}`
    await admin((client) => client.query(sql))
    return url(name)
  }
  return {
    port,
    get process() {
      return current
    },
    url,
    createDatabase,
    async createTemplate(name, setup) {
      const templateUrl = await createDatabase(name)
      await setup(templateUrl)
      return templateUrl
    },
    stop: () => current.stop('SIGINT', 15_000),
    async start() {
      if (current.isRunning) return
      current = await spawnAt(port)
    },
    kill9: () => current.kill9(),
    async close() {
      await current.stop('SIGINT', 15_000)
      rmSync(home, { recursive: true, force: true })
    },
  }
}
