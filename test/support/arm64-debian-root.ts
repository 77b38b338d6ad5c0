import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

/**
 * An arm64 Debian Bookworm root (the base of Raspberry Pi OS Bookworm), built with `debootstrap --foreign`
 * on this x64 machine and finished with its second stage under qemu-user-static through binfmt_misc. It
 * takes minutes on 2 cores, so it is built once and kept outside the repository; .ci/run builds it with
 * `node test/support/arm64-debian-root.ts build`, and the installer test uses it when it is there.
 *
 * Self-contained (node: imports only, erasable TypeScript) so that Node runs this file directly.
 */

const cacheDir = process.env.TEST_ARM64_CACHE_DIR ?? join(homedir(), '.cache/doorbell-arm64')

/** The finished root; `.complete` is written last, so a root without it is never used. */
export const arm64RootDir = join(cacheDir, 'debian-bookworm-arm64')
const completeMarker = '.complete'

const qemuAarch64 = '/usr/bin/qemu-aarch64-static'
const binfmtDir = '/proc/sys/fs/binfmt_misc'
/** The entry this project registers, and removes again when it registered it. */
const binfmtEntry = 'doorbell-aarch64'
/** ELF header of an arm64 executable and the mask QEMU's own binfmt files use (qemu-user-static). */
const aarch64Magic = '7f454c460201010000000000000000000200b700'
const aarch64Mask = 'ffffffffffffff00fffffffffffffffffeffffff'

/** The arm64 root when it is built, else undefined. */
export function cachedArm64Root(): string | undefined {
  return existsSync(join(arm64RootDir, completeMarker)) ? arm64RootDir : undefined
}

function runQuiet(program: string, args: readonly string[], timeoutMs = 60_000) {
  return spawnSync(program, args, { encoding: 'utf8', timeout: timeoutMs })
}

/** Why this machine cannot build or enter an arm64 root, or undefined when it can. */
export function arm64RootUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'debootstrap, chroot and binfmt_misc need root'
  if (!existsSync(qemuAarch64)) return 'needs qemu-user-static (sudo apt-get install -y qemu-user-static)'
  if (runQuiet('sh', ['-c', 'command -v debootstrap || test -x /usr/sbin/debootstrap']).status !== 0)
    return 'needs debootstrap (sudo apt-get install -y debootstrap)'
  if (!/\bbinfmt_misc\b/.test(readFileSync('/proc/filesystems', 'utf8')))
    return "the kernel has no binfmt_misc, which runs the root's arm64 programs through QEMU"
  return undefined
}

function hexEscaped(hex: string): string {
  return hex.replace(/../g, '\\x$&')
}

/** True when an enabled binfmt_misc entry already runs arm64 ELF files through a fixed (F) interpreter. */
function hasUsableAarch64Entry(): boolean {
  for (const name of readdirSync(binfmtDir)) {
    if (name === 'register' || name === 'status') continue
    let text = ''
    try {
      text = readFileSync(join(binfmtDir, name), 'utf8')
    } catch {
      continue
    }
    const flags = /^flags: (\S*)/m.exec(text)?.[1] ?? ''
    if (text.startsWith('enabled') && text.includes(`magic ${aarch64Magic}`) && flags.includes('F'))
      return true
  }
  return false
}

/**
 * Makes the kernel run arm64 programs through qemu-aarch64-static, also inside a chroot (flag F: the
 * interpreter is opened now, not looked up in the chroot). Mounts binfmt_misc when it is not mounted (and
 * leaves it mounted: other entries may live there). Returns the release that removes only the entry it
 * registered; an existing usable entry is used as it is and left alone.
 */
export function enableArm64Binfmt(): () => void {
  if (!existsSync(join(binfmtDir, 'register'))) {
    const mounted = runQuiet('mount', ['-t', 'binfmt_misc', 'binfmt_misc', binfmtDir])
    if (mounted.status !== 0) throw new Error(`cannot mount binfmt_misc: ${mounted.stderr.trim()}`)
  }
  if (hasUsableAarch64Entry()) return () => undefined
  const rule = `:${binfmtEntry}:M::${hexEscaped(aarch64Magic)}:${hexEscaped(aarch64Mask)}:${qemuAarch64}:F`
  writeFileSync(join(binfmtDir, 'register'), rule)
  return () => {
    if (existsSync(join(binfmtDir, binfmtEntry))) writeFileSync(join(binfmtDir, binfmtEntry), '-1')
  }
}

/**
 * The Debian mirror this machine's apt uses (deb822 .sources or one-line sources.list), so the root comes
 * from the same place as the machine's own packages.
 */
export function debianMirror(): string {
  const candidates: string[] = []
  const files = ['/etc/apt/sources.list']
  const listDir = '/etc/apt/sources.list.d'
  if (existsSync(listDir)) {
    for (const f of readdirSync(listDir)) if (/\.(list|sources)$/.test(f)) files.push(join(listDir, f))
  }
  for (const file of files.filter(existsSync)) {
    const text = readFileSync(file, 'utf8')
    if (file.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, 'mi').exec(stanza)?.[1]?.trim()
        if (!/\bdeb\b/.test(field('Types') ?? '') || /^no$/i.test(field('Enabled') ?? 'yes')) continue
        const suites = (field('Suites') ?? '').split(/\s+/)
        if (!suites.some((s) => /^[a-z]+$/.test(s))) continue
        candidates.push(...(field('URIs') ?? '').split(/\s+/))
      }
    } else {
      for (const line of text.split('\n')) {
        const match = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+([a-z]+)\s/.exec(line.trim())
        if (match?.[1]) candidates.push(match[1])
      }
    }
  }
  const mirror = candidates.find((uri) => /^https?:\/\//.test(uri) && !/security/.test(uri))
  if (!mirror) throw new Error('no Debian mirror in /etc/apt/sources.list(.d): debootstrap needs one')
  return mirror.replace(/\/$/, '')
}

/** Unmounts what debootstrap's second stage may leave mounted in the root, deepest first. */
function unmountInside(root: string): void {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((point) => point === root || point.startsWith(`${root}/`))
    .sort((a, b) => b.length - a.length)
  for (const point of mounts) runQuiet('umount', ['-l', point])
}

/**
 * Builds the root (first stage on this machine, second stage emulated) unless it is cached, and returns it.
 * log receives each phase with its duration, for the note in docs/deployment.md.
 */
export function buildArm64Root(log: (line: string) => void = console.log): string {
  const cached = cachedArm64Root()
  if (cached) return cached
  const reason = arm64RootUnavailableReason()
  if (reason) throw new Error(`cannot build the arm64 root: ${reason}`)
  mkdirSync(cacheDir, { recursive: true })
  const building = `${arm64RootDir}.building`
  unmountInside(building)
  rmSync(building, { recursive: true, force: true })
  const mirror = debianMirror()
  const release = enableArm64Binfmt()
  try {
    const phase = (name: string, program: string, args: string[]) => {
      const startedMs = Date.now()
      const result = spawnSync(program, args, { encoding: 'utf8', timeout: 3_600_000 })
      const seconds = Math.round((Date.now() - startedMs) / 1000)
      if (result.status !== 0) {
        const tail = `${result.stdout}${result.stderr}`.split('\n').slice(-20).join('\n')
        throw new Error(
          `${name} failed after ${seconds} s (status ${result.status ?? result.signal}):\n${tail}`,
        )
      }
      log(`arm64 root: ${name} took ${seconds} s`)
    }
    log(`arm64 root: debootstrap bookworm arm64 from ${mirror} into ${building}`)
    phase('first stage (download and unpack, native)', 'debootstrap', [
      '--foreign',
      '--arch=arm64',
      'bookworm',
      building,
      mirror,
    ])
    phase('second stage (configure, emulated)', 'chroot', [
      building,
      '/debootstrap/debootstrap',
      '--second-stage',
    ])
    unmountInside(building)
    writeFileSync(join(building, completeMarker), `${new Date().toISOString()} ${mirror}\n`)
    renameSync(building, arm64RootDir)
  } finally {
    unmountInside(building)
    release()
  }
  return arm64RootDir
}

if (process.argv[1] && import.meta.url === `file://${process.argv[1]}` && process.argv[2] === 'build') {
  const reason = arm64RootUnavailableReason()
  if (reason) {
    console.log(`arm64 root: not built here (${reason}); the arm64 installer test will say it skipped`)
  } else {
    console.log(`arm64 root: ${buildArm64Root()}`)
  }
}
