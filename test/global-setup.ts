import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { missingEnginePackages } from '../bench/engines/engine-binaries.js'

/** System programs the integration tests drive as real components, with the Debian package of each. */
const requiredPrograms: Record<string, string> = {
  mosquitto_pub: 'mosquitto-clients',
  mosquitto_sub: 'mosquitto-clients',
  ffmpeg: 'ffmpeg',
  ffprobe: 'ffmpeg',
  openssl: 'openssl',
  // deploy/: script and unit checks, and the SD-card image the image-preparation test makes
  shellcheck: 'shellcheck',
  'systemd-analyze': 'systemd',
  sfdisk: 'fdisk',
  'mkfs.vfat': 'dosfstools',
  'mkfs.ext4': 'e2fsprogs',
  debugfs: 'e2fsprogs',
  mcopy: 'mtools',
  // Fleet mode (test/collector/fleet/): real engines started by bench/engines/; PostgreSQL's server
  // binaries live off PATH (/usr/lib/postgresql/<version>/bin), so they are checked there.
  'redis-server': 'redis-server',
  haproxy: 'haproxy',
  postgres: 'postgresql',
  // The agent on emulated arm64 (test/system/arm64-agent.test.ts). debootstrap is not required here: the
  // arm64 Debian root is built by .ci/run, and its test says why it skips without it.
  'qemu-aarch64-static': 'qemu-user-static',
}

/** Files the tests need that are not programs: the arm64 libraries QEMU loads for an arm64 Node (`-L`). */
const requiredFiles: Record<string, string> = {
  '/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1': 'libc6-arm64-cross',
  '/usr/aarch64-linux-gnu/lib/libstdc++.so.6': 'libstdc++6-arm64-cross',
  '/usr/aarch64-linux-gnu/lib/libgcc_s.so.1': 'libgcc-s1-arm64-cross',
}

function isOnPath(program: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** Where Debian puts administration tools, which a non-root user's PATH often lacks. */
const sbinDirs = ['/usr/local/sbin', '/usr/sbin', '/sbin']

/**
 * Fails the run at once, saying how to fix it, when a required program is missing or not on PATH.
 * Then makes the folder in which bench/engines/ keeps one initdb'd PostgreSQL cluster for the whole run,
 * and returns the teardown that removes it.
 */
export default function checkSystemPrograms(): () => void {
  const notOnPath = Object.keys(requiredPrograms).filter(
    (program) => program !== 'postgres' && !isOnPath(program),
  )
  const offPath = notOnPath.filter((program) => sbinDirs.some((dir) => existsSync(`${dir}/${program}`)))
  const missing = notOnPath.filter((program) => !offPath.includes(program))
  if (missingEnginePackages().includes('postgresql')) missing.push('postgres')
  const missingFiles = Object.keys(requiredFiles).filter((file) => !existsSync(file))
  const problems: string[] = []
  if (missing.length > 0 || missingFiles.length > 0) {
    const packages = [
      ...new Set([
        ...missing.map((program) => requiredPrograms[program]),
        ...missingFiles.map((file) => requiredFiles[file]),
      ]),
    ].join(' ')
    problems.push(
      `The tests need programs and files that are not installed: ${[...missing, ...missingFiles].join(', ')}.\n` +
        `  fix: sudo apt-get install -y ${packages}   (or run .ci/run, which installs everything)`,
    )
  }
  if (offPath.length > 0) {
    problems.push(
      `The tests need programs that are installed but not on PATH: ${offPath.join(', ')}.\n` +
        `  fix: export PATH="$PATH:${sbinDirs.join(':')}"`,
    )
  }
  if (problems.length > 0) throw new Error(problems.join('\n'))
  // Not DOORBELL_*: collectors started by tests read those as config fields.
  const engineCache = mkdtempSync(join(tmpdir(), 'doorbell-engines-'))
  process.env.TEST_ENGINE_CACHE_DIR = engineCache
  return () => rmSync(engineCache, { recursive: true, force: true })
}
