import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

/** The Debian package of each engine, for the fix in a "missing" error. */
export const enginePackages = { postgresql: 'postgresql', redis: 'redis-server', haproxy: 'haproxy' } as const

/** Directories Debian puts server binaries in that a user's PATH may lack. */
const extraDirs = ['/usr/sbin', '/usr/local/sbin', '/sbin']

function missing(what: string, pkg: string): Error {
  return new Error(
    `${what} is not installed or not on PATH.\n  fix: sudo apt-get install -y ${pkg}   (or run .ci/run, which installs everything)`,
  )
}

/** The absolute path of a program on PATH or in the sbin folders, or undefined. */
export function findProgram(program: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(':').filter(Boolean), ...extraDirs]) {
    const candidate = join(dir, program)
    if (existsSync(candidate)) return candidate
  }
  return undefined
}

/** The bin folder of the newest PostgreSQL server (Debian keeps initdb and postgres off PATH). */
export function findPostgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql'
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(a) - Number(b))
    const newest = versions.at(-1)
    if (newest) return join(root, newest, 'bin')
  }
  // Other distributions put initdb on PATH, or name it through pg_config.
  const initdb = findProgram('initdb')
  if (initdb) return join(initdb, '..')
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim()
    return existsSync(join(dir, 'initdb')) ? dir : undefined
  } catch {
    return undefined
  }
}

/** initdb and postgres, or an error that says which package to install. */
export function requirePostgresBinaries(): { initdb: string; postgres: string } {
  const dir = findPostgresBinDir()
  if (!dir || !existsSync(join(dir, 'postgres')))
    throw missing('PostgreSQL (initdb, postgres)', enginePackages.postgresql)
  return { initdb: join(dir, 'initdb'), postgres: join(dir, 'postgres') }
}

/** redis-server, or an error that says which package to install. */
export function requireRedisServer(): string {
  const path = findProgram('redis-server')
  if (!path) throw missing('redis-server', enginePackages.redis)
  return path
}

/** haproxy, or an error that says which package to install. */
export function requireHaproxy(): string {
  const path = findProgram('haproxy')
  if (!path) throw missing('haproxy', enginePackages.haproxy)
  return path
}

/** Which engines are missing, by Debian package (empty when all three are there). */
export function missingEnginePackages(): string[] {
  const out: string[] = []
  const pg = findPostgresBinDir()
  if (!pg || !existsSync(join(pg, 'postgres'))) out.push(enginePackages.postgresql)
  if (!findProgram('redis-server')) out.push(enginePackages.redis)
  if (!findProgram('haproxy')) out.push(enginePackages.haproxy)
  return out
}
