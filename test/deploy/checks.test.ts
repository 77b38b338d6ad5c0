import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeFakeApp, piDir, repoRoot, run, tempDir, writeFile } from './helpers.js'

/** Every shell script in the repository: tracked *.sh files and files whose first line is a shell shebang. */
function shellScripts(): string[] {
  const isShell = (path: string): boolean =>
    path.endsWith('.sh') ||
    /^#!.*\b(ba)?sh\b/.test(readFileSync(path, 'utf8').slice(0, 200).split('\n')[0] ?? '')
  const listed = run('git', ['ls-files', '-z'])
  if (listed.status === 0) {
    return listed.stdout
      .split('\0')
      .filter(Boolean)
      .map((name) => join(repoRoot, name))
      .filter((path) => statSync(path, { throwIfNoEntry: false })?.isFile() && isShell(path))
  }
  // Not a git checkout (a release tarball): the folders that hold scripts.
  const found: string[] = [join(repoRoot, '.ci/run')]
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (isShell(path)) found.push(path)
    }
  }
  walk(join(repoRoot, 'deploy'))
  return found
}

describe('shell scripts', () => {
  const scripts = shellScripts()

  it('finds the deployment scripts', () => {
    const names = scripts.map((path) => path.slice(repoRoot.length + 1))
    expect(names).toEqual(
      expect.arrayContaining([
        'deploy/raspberry-pi/install.sh',
        'deploy/raspberry-pi/prepare-sd.sh',
        'deploy/raspberry-pi/firstboot.sh',
        '.ci/run',
      ]),
    )
  })

  it.each(scripts.map((path) => [path.slice(repoRoot.length + 1), path]))(
    '%s passes shellcheck',
    (_, path) => {
      const result = run('shellcheck', ['--severity=style', '--external-sources', path])
      expect(result.stdout + result.stderr).toBe('')
      expect(result.status).toBe(0)
    },
  )

  it.each(
    scripts
      .filter((path) => path.includes('/deploy/'))
      .map((path) => [path.slice(repoRoot.length + 1), path]),
  )('%s is executable', (_, path) => {
    expect(statSync(path).mode & 0o111).not.toBe(0)
  })
})

describe('systemd units', () => {
  let work: string
  let root: string
  let verifyDir: string

  beforeAll(() => {
    // Verify the units as the installer writes them (with its substitutions), in a temporary root.
    work = tempDir('units')
    root = join(work, 'root')
    writeFile(join(root, 'boot/firmware/config.txt'), '')
    const app = makeFakeApp(join(work, 'app'))
    const installed = run(
      'bash',
      [
        join(piDir, 'install.sh'),
        ...[
          '--root',
          root,
          '--app',
          app,
          '--device-id',
          'd1',
          '--mqtt-url',
          'mqtt://c:1883',
          '--mqtt-password-file',
          '-',
        ],
      ],
      { input: 'x\n' },
    )
    expect(installed.status, installed.stderr).toBe(0)
    verifyDir = join(work, 'verify')
    const units = join(root, 'etc/systemd/system')
    // systemd-analyze checks that ExecStart's program exists; on this machine node lives elsewhere.
    const service = readFileSync(join(units, 'doorbell-agent.service'), 'utf8')
    writeFile(
      join(verifyDir, 'doorbell-agent.service'),
      service.replaceAll('/opt/doorbell/bin/node', process.execPath),
    )
    const mount = 'var-lib-doorbell-segments.mount'
    writeFileSync(join(verifyDir, mount), readFileSync(join(units, mount)))
    writeFileSync(
      join(verifyDir, 'doorbell-firstboot.service'),
      readFileSync(join(piDir, 'doorbell-firstboot.service')),
    )
  })

  afterAll(() => {
    rmSync(work, { recursive: true, force: true })
  })

  it.each(['doorbell-agent.service', 'var-lib-doorbell-segments.mount', 'doorbell-firstboot.service'])(
    '%s passes systemd-analyze verify with no warning',
    (unit) => {
      const result = run('systemd-analyze', ['verify', '--man=no', join(verifyDir, unit)])
      // verify exits 0 on unknown keys and only warns, so any output at all is a failure.
      expect(result.stderr + result.stdout).toBe('')
      expect(result.status).toBe(0)
    },
  )

  it('keeps the agent service well hardened (systemd-analyze security exposure at most 3.0)', () => {
    const result = run('systemd-analyze', [
      'security',
      '--offline=true',
      '--threshold=30',
      '--no-pager',
      join(verifyDir, 'doorbell-agent.service'),
    ])
    const overall = /Overall exposure level for doorbell-agent\.service: ([0-9.]+)/.exec(result.stdout)
    expect(overall, result.stdout + result.stderr).not.toBeNull()
    expect(Number(overall?.[1])).toBeLessThanOrEqual(3)
    expect(result.status).toBe(0)
  })
})

describe('service user', () => {
  it('joins the Pi groups that exist and gets a home in /var/lib/doorbell (real systemd-sysusers)', () => {
    const root = tempDir('sysusers')
    try {
      writeFile(
        join(root, 'etc/passwd'),
        'root:x:0:0:root:/root:/bin/bash\npi:x:1000:1000::/home/pi:/bin/bash\n',
      )
      writeFile(
        join(root, 'etc/group'),
        'root:x:0:\naudio:x:29:pi\nvideo:x:44:pi\ni2c:x:994:pi\ngpio:x:997:pi\npi:x:1000:\n',
      )
      writeFile(
        join(root, 'etc/sysusers.d/doorbell.conf'),
        readFileSync(join(piDir, 'doorbell.sysusers'), 'utf8'),
      )
      const result = run('systemd-sysusers', [`--root=${root}`, 'doorbell.conf'])
      expect(result.status, result.stderr).toBe(0)
      const members = new Map(
        readFileSync(join(root, 'etc/group'), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => {
            const [name = '', , gid = '', users = ''] = line.split(':')
            return [`${name}:${gid}`, users.split(',').sort()]
          }),
      )
      // Existing groups keep their ids and members; the service user is added to each.
      for (const group of ['audio:29', 'video:44', 'i2c:994', 'gpio:997'])
        expect(members.get(group), group).toEqual(['doorbell', 'pi'])
      expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).toMatch(
        /^doorbell:x:\d+:\d+:Doorbell agent:\/var\/lib\/doorbell:\/usr\/sbin\/nologin$/m,
      )
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
})
