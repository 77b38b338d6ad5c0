import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { makeFakeApp, piDir, run, tempDir, writeFile } from '../helpers.js'

const sectorBytes = 512
const bootStartSector = 2048
const bootSectors = 80_000 // ~39 MiB: enough clusters for FAT32, as on a real card
const rootStartSector = bootStartSector + bootSectors + 1920
const mtoolsEnv = { ...process.env, MTOOLS_SKIP_CHECK: '1' }

let work: string
let image: string
let app: string
let config: string

function must(program: string, args: readonly string[], env = process.env): string {
  const result = run(program, args, { cwd: work, env })
  if (result.status !== 0) throw new Error(`${program} ${args.join(' ')}: ${result.stderr}`)
  return result.stdout
}

const bootPart = () => `${image}@@${bootStartSector * sectorBytes}`
const rootPart = () => `${image}?offset=${rootStartSector * sectorBytes}`

/** Reads a file from the image's FAT boot partition, or undefined if it is not there. */
function bootFile(path: string): string | undefined {
  const result = run('mtype', ['-i', bootPart(), `::${path}`], { env: mtoolsEnv })
  return result.status === 0 ? result.stdout : undefined
}

/** Runs one debugfs request against the image's ext4 root partition. */
function debugfs(request: string): string {
  return must('debugfs', ['-R', request, rootPart()])
}

/** A 64 MiB disk image shaped like Raspberry Pi OS: MBR, FAT32 boot, ext4 root, cmdline.txt. */
function makeImage(): void {
  image = join(work, 'raspios.img')
  must('truncate', ['-s', '64M', image])
  const layout = `label: dos\nstart=${bootStartSector}, size=${bootSectors}, type=c\nstart=${rootStartSector}, type=83\n`
  const sfdisk = run('sfdisk', ['-q', image], { input: layout })
  if (sfdisk.status !== 0) throw new Error(sfdisk.stderr)
  must('mkfs.vfat', [
    '-F',
    '32',
    '-s',
    '1',
    '-n',
    'bootfs',
    '--offset',
    String(bootStartSector),
    image,
    '40000',
  ])
  const skeleton = join(work, 'skeleton')
  mkdirSync(join(skeleton, 'etc/systemd/system'), { recursive: true })
  mkdirSync(join(skeleton, 'boot/firmware'), { recursive: true })
  must('mkfs.ext4', [
    '-q',
    '-F',
    '-L',
    'rootfs',
    '-E',
    `offset=${rootStartSector * sectorBytes}`,
    '-d',
    skeleton,
    image,
    '20M',
  ])
  writeFileSync(join(work, 'cmdline.txt'), 'console=serial0,115200 root=PARTUUID=abc-02 rootwait quiet\n')
  must('mcopy', ['-i', bootPart(), join(work, 'cmdline.txt'), '::/cmdline.txt'], mtoolsEnv)
}

beforeEach(() => {
  work = tempDir('sd')
  app = makeFakeApp(join(work, 'app'))
  config = join(work, 'front-door.yaml')
  writeFileSync(
    config,
    'deviceId: front-door\nmqtt:\n  url: mqtt://collector.local:1883\n  password: s3cret\n',
  )
  makeImage()
})

afterEach(() => {
  rmSync(work, { recursive: true, force: true })
})

function prepare(...args: string[]) {
  return run(
    'bash',
    [join(piDir, 'prepare-sd.sh'), '--image', image, '--config', config, '--app', app, ...args],
    {
      cwd: work,
    },
  )
}

describe('deploy/raspberry-pi/prepare-sd.sh', () => {
  it('puts the installer, the app and the config on the boot partition and enables the first-boot unit', () => {
    const result = prepare()
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)

    expect(bootFile('/doorbell/agent.yaml')).toBe(readFileSync(config, 'utf8'))
    expect(bootFile('/doorbell/install.sh')).toBe(readFileSync(join(piDir, 'install.sh'), 'utf8'))
    expect(bootFile('/doorbell/firstboot.sh')).toBe(readFileSync(join(piDir, 'firstboot.sh'), 'utf8'))
    const listing = must('mdir', ['-b', '-i', bootPart(), '::/doorbell'], mtoolsEnv)
    expect(listing).toContain('app.tar.gz')

    expect(debugfs('cat /etc/systemd/system/doorbell-firstboot.service')).toBe(
      readFileSync(join(piDir, 'doorbell-firstboot.service'), 'utf8'),
    )
    const wants = debugfs('stat /etc/systemd/system/multi-user.target.wants/doorbell-firstboot.service')
    expect(wants).toContain('Type: symlink')
    expect(wants).toContain('Fast link dest: "/etc/systemd/system/doorbell-firstboot.service"')
    expect(debugfs('stat /etc/systemd/system/doorbell-firstboot.service')).toMatch(/User: +0 +Group: +0/)
    // No Wi-Fi, login or SSH unless asked for.
    expect(bootFile('/userconf.txt')).toBeUndefined()
    expect(bootFile('/ssh')).toBeUndefined()
    expect(bootFile('/cmdline.txt')).not.toContain('regdom')
  })

  it('adds Wi-Fi, a hashed login and SSH when asked, and can run again on the same card', () => {
    const args = ['--wifi-ssid', 'Home Net', '--wifi-psk', 'pass phrase', '--wifi-country', 'GB']
    expect(prepare(...args, '--user', 'pi', '--password', 'hunter2', '--ssh').status).toBe(0)
    const again = prepare(...args)
    expect(again.stderr).toBe('')
    expect(again.status).toBe(0)

    const wifi = '/etc/NetworkManager/system-connections/doorbell-wifi.nmconnection'
    const profile = debugfs(`cat ${wifi}`)
    expect(profile).toContain('ssid=Home Net\n')
    expect(profile).toContain('psk=pass phrase\n')
    expect(debugfs(`stat ${wifi}`)).toMatch(/Mode: +0600/)
    expect(bootFile('/cmdline.txt')).toBe(
      'console=serial0,115200 root=PARTUUID=abc-02 rootwait quiet cfg80211.ieee80211_regdom=GB\n',
    )
    const userconf = bootFile('/userconf.txt') ?? ''
    expect(userconf).toMatch(/^pi:\$6\$/)
    expect(userconf).not.toContain('hunter2')
    expect(bootFile('/ssh')).toBe('')
  })

  it('prepares an SD card given as a block device (a loop device here)', (context) => {
    const attach = run('losetup', ['--find', '--show', image])
    if (attach.status !== 0) {
      // Needs root and loop devices; the image-file path above covers the same writes.
      context.skip(`SKIPPED: cannot attach a loop device here (${attach.stderr.trim()})`)
      return
    }
    const device = attach.stdout.trim()
    try {
      const result = run('bash', [
        join(piDir, 'prepare-sd.sh'),
        '--image',
        device,
        '--config',
        config,
        '--app',
        app,
      ])
      expect(result.status, result.stderr).toBe(0)
    } finally {
      run('losetup', ['-d', device])
    }
    expect(bootFile('/doorbell/agent.yaml')).toBe(readFileSync(config, 'utf8'))
    expect(debugfs('cat /etc/systemd/system/doorbell-firstboot.service')).toContain('firstboot.sh')
  })

  it('writes a cloud-init login on images that boot with cloud-init (Trixie)', () => {
    writeFileSync(join(work, 'user-data'), '#cloud-config\n# stock, empty\n')
    must('mcopy', ['-i', bootPart(), join(work, 'user-data'), '::/user-data'], mtoolsEnv)
    expect(prepare('--user', 'pi', '--password', 'hunter2', '--ssh').status).toBe(0)
    const userData = bootFile('/user-data') ?? ''
    expect(userData.startsWith('#cloud-config\n')).toBe(true)
    expect(userData).toMatch(/^ {2}- name: pi$/m)
    expect(userData).toMatch(/^ {4}passwd: \$6\$/m)
    expect(userData).toContain('[systemctl, enable, --now, ssh]')
    expect(userData).not.toContain('hunter2')
    const parsed = parseYaml(userData) as { users: { name: string; lock_passwd: boolean }[] }
    expect(parsed.users[0]).toMatchObject({ name: 'pi', lock_passwd: false })
  })

  it('refuses a file that is not a Raspberry Pi OS image', () => {
    const blank = join(work, 'blank.img')
    must('truncate', ['-s', '1M', blank])
    const result = run('bash', [
      join(piDir, 'prepare-sd.sh'),
      '--image',
      blank,
      '--config',
      config,
      '--app',
      app,
    ])
    expect(result.status).toBe(1)
    expect(result.stderr).toContain('no MBR with a FAT boot and a Linux root partition')
  })

  it('installs from the card on first boot and removes the secrets from the boot partition', () => {
    expect(prepare().status).toBe(0)
    // What the Pi sees at /boot/firmware/doorbell: copy the folder out of the image.
    const boot = join(work, 'pi/boot/firmware')
    mkdirSync(boot, { recursive: true })
    must('mcopy', ['-s', '-i', bootPart(), '::/doorbell', boot], mtoolsEnv)
    writeFile(join(boot, 'config.txt'), 'dtparam=audio=on\n')
    const root = join(work, 'pi')

    const result = run('bash', [join(boot, 'doorbell/firstboot.sh'), '--root', root])
    expect(result.status, result.stdout + result.stderr).toBe(0)
    expect(readFileSync(join(root, 'etc/doorbell/agent.yaml'), 'utf8')).toBe(readFileSync(config, 'utf8'))
    expect(existsSync(join(root, 'opt/doorbell/app/dist/agent/main.js'))).toBe(true)
    expect(existsSync(join(root, 'etc/systemd/system/doorbell-agent.service'))).toBe(true)
    expect(readFileSync(join(boot, 'config.txt'), 'utf8')).toContain('dtoverlay=w1-gpio')
    const left = readdirSync(join(boot, 'doorbell'))
    expect(left).not.toContain('agent.yaml')
    expect(left).not.toContain('app.tar.gz')
    expect(readFileSync(join(boot, 'doorbell/firstboot.log'), 'utf8')).toContain('secrets were removed')
    expect(existsSync(join(root, 'var/lib/doorbell-firstboot'))).toBe(false)
  })
})
