import { existsSync, lstatSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { makeFakeApp, piDir, run, snapshot, tempDir, writeFile } from '../helpers.js'

const installer = join(piDir, 'install.sh')
/** A stock-looking Bookworm config.txt, ending in a model section as the real one does. */
const stockConfigTxt = '# stock\ndtparam=audio=on\ncamera_auto_detect=1\n[cm5]\ndtoverlay=dwc2,dr_mode=host\n'

let work: string
let root: string
let app: string

function install(...args: string[]) {
  return run('bash', [installer, '--root', root, '--app', app, ...args])
}

/** The installer's credential options; the secret comes from a file (argv would show it in ps). */
let credentials: string[]

beforeEach(() => {
  work = tempDir('pi-install')
  root = join(work, 'root')
  app = makeFakeApp(join(work, 'app'))
  writeFile(join(root, 'boot/firmware/config.txt'), stockConfigTxt)
  writeFile(join(root, 'var/lib/.keep'), '')
  const secretFile = join(work, 'secret')
  writeFile(secretFile, "s3'cret\n")
  credentials = [
    '--device-id',
    'front-door',
    '--mqtt-url',
    'mqtt://collector.local:1883',
    '--mqtt-password-file',
    secretFile,
  ]
})

afterEach(() => {
  rmSync(work, { recursive: true, force: true })
})

describe('deploy/raspberry-pi/install.sh --root', () => {
  it('never takes the device secret on its command line, where ps shows it to every user', () => {
    const refused = install(
      '--device-id',
      'front-door',
      '--mqtt-url',
      'mqtt://c:1883',
      '--mqtt-password',
      'x',
    )
    expect(refused.status).toBe(2)
    expect(refused.stderr).toContain('--mqtt-password-file')
    const fromStdin = run(
      'bash',
      [
        installer,
        '--root',
        root,
        '--app',
        app,
        '--device-id',
        'front-door',
        '--mqtt-url',
        'mqtt://c:1883',
        '--mqtt-password-file',
        '-',
      ],
      { input: 'from-stdin\n' },
    )
    expect(fromStdin.status, fromStdin.stderr).toBe(0)
    expect(readFileSync(join(root, 'etc/doorbell/agent.yaml'), 'utf8')).toContain("password: 'from-stdin'")
    const empty = run(
      'bash',
      [
        installer,
        '--root',
        root,
        '--app',
        app,
        '--device-id',
        'front-door',
        '--mqtt-url',
        'mqtt://c:1883',
        '--mqtt-password-file',
        '-',
      ],
      { input: '' },
    )
    expect(empty.status).toBe(2)
  })

  it('writes the unit, the tmpfs mount, the service user, the config and the overlays', () => {
    const result = install(...credentials)
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)

    const unit = readFileSync(join(root, 'etc/systemd/system/doorbell-agent.service'), 'utf8')
    expect(unit).toContain(
      'ExecStart=/opt/doorbell/bin/node --max-semi-space-size=1 --v8-pool-size=1 --no-opt /opt/doorbell/app/dist/agent/main.js --config /etc/doorbell/agent.yaml',
    )
    for (const line of [
      'Type=notify',
      'Environment=MALLOC_ARENA_MAX=2',
      'WatchdogSec=30s',
      'Restart=always',
      'ProtectSystem=strict',
      'ReadWritePaths=/var/lib/doorbell',
      'PrivateTmp=yes',
      'NoNewPrivileges=yes',
      'User=doorbell',
      'SupplementaryGroups=gpio video audio i2c',
      'DevicePolicy=closed',
      'RequiresMountsFor=/var/lib/doorbell/segments',
    ]) {
      expect(unit.split('\n')).toContain(line)
    }
    const wants = join(root, 'etc/systemd/system/multi-user.target.wants/doorbell-agent.service')
    expect(readlinkSync(wants)).toBe('/etc/systemd/system/doorbell-agent.service')

    const mount = readFileSync(join(root, 'etc/systemd/system/var-lib-doorbell-segments.mount'), 'utf8')
    expect(mount).toContain('Where=/var/lib/doorbell/segments')
    expect(mount).toContain('Type=tmpfs')
    expect(mount).toMatch(/^Options=.*size=96M/m)

    const sysusers = readFileSync(join(root, 'etc/sysusers.d/doorbell.conf'), 'utf8')
    for (const group of ['gpio', 'video', 'audio', 'i2c']) expect(sysusers).toContain(`m doorbell ${group}`)
    expect(readFileSync(join(root, 'etc/modules-load.d/doorbell.conf'), 'utf8')).toBe('i2c-dev\n')

    const config = readFileSync(join(root, 'etc/doorbell/agent.yaml'), 'utf8')
    expect(config).toBe(
      "deviceId: 'front-door'\nmqtt:\n  url: 'mqtt://collector.local:1883'\n  username: 'front-door'\n  password: 's3''cret'\n",
    )
    expect(statSync(join(root, 'etc/doorbell/agent.yaml')).mode & 0o777).toBe(0o640)

    const configTxt = readFileSync(join(root, 'boot/firmware/config.txt'), 'utf8')
    expect(configTxt.startsWith(stockConfigTxt)).toBe(true)
    const block = configTxt.slice(stockConfigTxt.length).split('\n')
    expect(block.slice(1, 4)).toEqual(['[all]', 'dtparam=i2c_arm=on', 'dtoverlay=w1-gpio,gpiopin=4'])

    expect(existsSync(join(root, 'opt/doorbell/app/dist/agent/main.js'))).toBe(true)
    expect(existsSync(join(root, 'opt/doorbell/app/agent/package.json'))).toBe(true)
    expect(existsSync(join(root, 'opt/doorbell/app/dist/agent/main.js.map'))).toBe(false)
  })

  it('changes nothing when run a second time', () => {
    expect(install(...credentials).status).toBe(0)
    const before = snapshot(root)
    const again = install(...credentials)
    expect(again.status).toBe(0)
    expect(again.stdout).toContain('nothing to change')
    expect(snapshot(root)).toEqual(before)
    // Without credentials it keeps the config it has (the device secret is written once).
    const third = install()
    expect(third.stdout).toContain('nothing to change')
    expect(snapshot(root)).toEqual(before)
  })

  it('removes modules an upgrade no longer ships', () => {
    expect(install(...credentials).status).toBe(0)
    rmSync(join(app, 'dist/shared/errors.js'))
    writeFile(join(app, 'dist/agent/new-module.js'), 'export {}\n')
    const upgrade = install()
    expect(upgrade.status, upgrade.stderr).toBe(0)
    expect(existsSync(join(root, 'opt/doorbell/app/dist/shared/errors.js'))).toBe(false)
    expect(existsSync(join(root, 'opt/doorbell/app/dist/agent/new-module.js'))).toBe(true)
    expect(existsSync(join(root, 'opt/doorbell/app/dist/agent/main.js'))).toBe(true)
  })

  it('installs a config file as given, and pins a CA', () => {
    const config = join(work, 'agent.yaml')
    writeFileSync(config, 'deviceId: porch\nmqtt:\n  url: mqtts://c:8883\n  caFile: /etc/doorbell/ca.pem\n')
    const ca = join(work, 'ca.pem')
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n')
    expect(install('--config', config, '--ca', ca, '--w1-pin', '17', '--segments-size', '32M').status).toBe(0)
    expect(readFileSync(join(root, 'etc/doorbell/agent.yaml'), 'utf8')).toBe(readFileSync(config, 'utf8'))
    expect(readFileSync(join(root, 'etc/doorbell/ca.pem'), 'utf8')).toContain('BEGIN CERTIFICATE')
    expect(readFileSync(join(root, 'boot/firmware/config.txt'), 'utf8')).toContain(
      'dtoverlay=w1-gpio,gpiopin=17\n',
    )
    const mount = readFileSync(join(root, 'etc/systemd/system/var-lib-doorbell-segments.mount'), 'utf8')
    expect(mount).toMatch(/^Options=.*size=32M/m)
    // Changing an option replaces our block in config.txt rather than adding a second one.
    expect(install('--w1-pin', '4').status).toBe(0)
    const configTxt = readFileSync(join(root, 'boot/firmware/config.txt'), 'utf8')
    expect(configTxt.match(/BEGIN doorbell-agent/g)).toHaveLength(1)
    expect(configTxt).toContain('gpiopin=4\n')
  })

  it('warns when the config pins a CA that is not there', () => {
    const config = join(work, 'agent.yaml')
    writeFileSync(config, "deviceId: porch\nmqtt:\n  url: mqtts://c:8883\n  caFile: '/etc/doorbell/ca.pem'\n")
    const result = install('--config', config)
    expect(result.status).toBe(0)
    expect(result.stdout).toContain('pins the CA /etc/doorbell/ca.pem, which does not exist: pass --ca FILE')
  })

  it('writes /boot/config.txt on releases before Bookworm', () => {
    rmSync(join(root, 'boot/firmware'), { recursive: true })
    writeFile(join(root, 'boot/config.txt'), stockConfigTxt)
    expect(install(...credentials).status).toBe(0)
    expect(readFileSync(join(root, 'boot/config.txt'), 'utf8')).toContain('dtparam=i2c_arm=on')
  })

  it('changes nothing with --dry-run and lists what it would write', () => {
    const before = snapshot(root)
    const result = install('--dry-run', ...credentials)
    expect(result.status).toBe(0)
    expect(result.stdout).toContain('would write /etc/systemd/system/doorbell-agent.service')
    expect(result.stdout).toContain('would write /boot/firmware/config.txt')
    expect(snapshot(root)).toEqual(before)
  })

  it('refuses to install without a config, naming the options', () => {
    const result = install()
    expect(result.status).toBe(2)
    expect(result.stderr).toContain('--config FILE')
    expect(existsSync(join(root, 'etc'))).toBe(false)
  })

  it('removes what it added with --uninstall, keeping the secret and data until --purge', () => {
    const before = snapshot(root, { withTimes: false })
    expect(install(...credentials).status).toBe(0)
    writeFile(join(root, 'var/lib/doorbell/data/agent/outbox.db'), 'unsent events')

    const removed = install('--uninstall')
    expect(removed.status).toBe(0)
    expect(readFileSync(join(root, 'boot/firmware/config.txt'), 'utf8')).toBe(stockConfigTxt)
    for (const gone of [
      'etc/systemd/system/doorbell-agent.service',
      'etc/systemd/system/multi-user.target.wants/doorbell-agent.service',
      'etc/systemd/system/var-lib-doorbell-segments.mount',
      'etc/sysusers.d/doorbell.conf',
      'etc/modules-load.d/doorbell.conf',
      'opt/doorbell',
    ]) {
      expect(existsSync(join(root, gone)), gone).toBe(false)
    }
    expect(existsSync(join(root, 'etc/doorbell/agent.yaml'))).toBe(true)
    expect(existsSync(join(root, 'var/lib/doorbell/data/agent/outbox.db'))).toBe(true)
    expect(install('--uninstall').stdout).toContain('nothing to change')

    expect(install('--uninstall', '--purge').status).toBe(0)
    expect(existsSync(join(root, 'etc/doorbell'))).toBe(false)
    expect(existsSync(join(root, 'var/lib/doorbell'))).toBe(false)
    const after = snapshot(root, { withTimes: false })
    // Only empty folders the installer created may remain; every file is as before.
    expect(after).toEqual(before)
    expect(lstatSync(join(root, 'boot/firmware/config.txt')).isFile()).toBe(true)
  })

  it('refuses --bundle without --root, and a root whose CPU it cannot tell, before writing anything', () => {
    const live = run('bash', [installer, '--bundle', '--dry-run', ...credentials])
    expect(live.status).toBe(2)
    expect(live.stderr).toContain('--bundle goes with --root')
    writeFile(join(root, 'bin/sh'), '#!not an ELF file\n')
    const before = snapshot(root)
    const unknown = install('--bundle', ...credentials)
    expect(unknown.status).toBe(1)
    expect(unknown.stderr).toContain('cannot tell the CPU')
    expect(snapshot(root)).toEqual(before)
  })
})
