import { execFileSync } from 'node:child_process'

/** System programs the integration tests drive as real components, with the Debian package of each. */
const requiredPrograms: Record<string, string> = {
  mosquitto_pub: 'mosquitto-clients',
  mosquitto_sub: 'mosquitto-clients',
  mosquitto: 'mosquitto',
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
}

function isOnPath(program: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${program} || test -x /usr/sbin/${program}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** Fails the run at once, with the apt-get line to fix it, when a required program is missing. */
export default function checkSystemPrograms(): void {
  const missing = Object.keys(requiredPrograms).filter((program) => !isOnPath(program))
  if (missing.length === 0) return
  const packages = [...new Set(missing.map((program) => requiredPrograms[program]))].join(' ')
  throw new Error(
    `The tests need programs that are not installed: ${missing.join(', ')}.\n` +
      `  fix: sudo apt-get install -y ${packages}   (or run .ci/run, which installs everything)`,
  )
}
