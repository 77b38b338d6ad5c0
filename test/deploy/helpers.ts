import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'

/** Root of the repository (tests run from it, but do not rely on the working directory). */
export const repoRoot = resolve(import.meta.dirname, '../..')

/** Folder of the Raspberry Pi deployment files. */
export const piDir = join(repoRoot, 'deploy/raspberry-pi')

/** Result of a finished program: exit status and both outputs as text. */
export interface RunResult {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a program to completion (bounded by timeoutMs) and returns its status and output. */
export function run(
  program: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): RunResult {
  const result = spawnSync(program, args, {
    cwd: options.cwd ?? repoRoot,
    env: options.env ?? process.env,
    input: options.input,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 60_000,
  })
  if (result.error) throw result.error
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

/** True when `program` is on PATH (or in /usr/sbin, where Debian keeps mkfs and friends). */
export function hasProgram(program: string): boolean {
  return (
    run('sh', ['-c', `command -v ${program} || test -x /usr/sbin/${program} || test -x /sbin/${program}`])
      .status === 0
  )
}

/** A fresh temporary folder. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `doorbell-${prefix}-`))
}

/** Writes a file, creating its folders. */
export function writeFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, text)
}

/** A built app as the installer expects it: package manifests and dist/agent/main.js. */
export function makeFakeApp(dir: string): string {
  writeFile(join(dir, 'package.json'), '{"name":"doorbell","private":true}\n')
  writeFile(join(dir, 'package-lock.json'), '{"lockfileVersion":3}\n')
  writeFile(join(dir, 'agent/package.json'), '{"name":"@doorbell/agent"}\n')
  writeFile(join(dir, 'dist/agent/main.js'), 'console.log("agent")\n')
  writeFile(join(dir, 'dist/shared/errors.js'), 'export {}\n')
  writeFile(join(dir, 'dist/agent/main.js.map'), '{}\n')
  return dir
}

/** Every file and link under dir, relative, with mode, content hash and (unless told not to) mtime. */
export function snapshot(dir: string, options: { withTimes?: boolean } = {}): Record<string, string> {
  const withTimes = options.withTimes ?? true
  const out: Record<string, string> = {}
  const walk = (current: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name)
      const stat = statSync(path, { throwIfNoEntry: false })
      if (entry.isDirectory()) walk(path)
      else if (entry.isSymbolicLink()) out[relative(dir, path)] = 'link'
      else if (stat)
        out[relative(dir, path)] =
          `${(stat.mode & 0o777).toString(8)} ${withTimes ? stat.mtimeMs : ''} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`
    }
  }
  walk(dir)
  return out
}

/** podman/buildah environment: the sandbox recipe's containers.conf (runc, ulimits) when it exists. */
export function containerEnv(): NodeJS.ProcessEnv {
  const recipeConf = join(homedir(), '.cache/doorbell-container/containers.conf')
  if (process.env.CONTAINERS_CONF || !existsSync(recipeConf)) return process.env
  return { ...process.env, CONTAINERS_CONF: recipeConf }
}
