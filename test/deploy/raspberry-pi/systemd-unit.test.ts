import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { containerEnv, hasProgram, repoRoot, run, tempDir, writeFile } from '../helpers.js'

/**
 * The agent's unit under a real systemd (PID 1 of a podman container): the installer's files, the service user,
 * the tmpfs, Type=notify readiness and the watchdog, with every hardening option of the unit in force.
 * Only the ExecStart gains --simulate (no GPIO in a container) and WatchdogSec is shortened to 4 s.
 */

const image = 'doorbell-systemd:test'
const container = `doorbell-systemd-test-${process.pid}`
const hasContainerTools = hasProgram('podman') && hasProgram('buildah')
const skipReason =
  'SKIPPED: the systemd unit test needs podman and buildah (apt-get install podman buildah runc; ' +
  'see ../shared/tools/container-env.sh for a machine without a registry)'

function podman(args: readonly string[], timeoutMs = 60_000) {
  return run('podman', args, { env: containerEnv(), timeoutMs })
}

/** Runs a bash script as root inside the container (privileged: to enter the service's namespaces). */
function inContainer(script: string, timeoutMs = 60_000, isPrivileged = false) {
  const exec = isPrivileged ? ['exec', '--privileged'] : ['exec']
  return podman([...exec, container, 'bash', '-euo', 'pipefail', '-c', script], timeoutMs)
}

function unitProperty(name: string): string {
  return inContainer(`systemctl show -p ${name} --value doorbell-agent.service`).stdout.trim()
}

async function waitFor(what: string, deadlineMs: number, check: () => boolean): Promise<void> {
  const until = Date.now() + deadlineMs
  while (Date.now() < until) {
    if (check()) return
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  throw new Error(`timed out waiting for ${what}`)
}

if (!hasContainerTools) {
  console.warn(skipReason)
  it.skip(skipReason, () => {})
} else {
  describe('doorbell-agent.service under systemd (podman)', () => {
    beforeAll(() => {
      expect(
        existsSync(join(repoRoot, 'dist/agent/main.js')),
        'dist/agent/main.js is missing: the test runs the built agent (npm run build, with the agent in the tree)',
      ).toBe(true)
      const context = tempDir('systemd-image')
      try {
        writeFile(
          join(context, 'Containerfile'),
          'FROM docker.io/library/node:22-bookworm-slim\n' +
            'RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ' +
            'systemd systemd-sysv >/dev/null && rm -rf /var/lib/apt/lists/*\n' +
            'CMD ["/sbin/init"]\n',
        )
        const hasBase = podman(['image', 'exists', 'docker.io/library/node:22-bookworm-slim']).status === 0
        const build = run(
          'buildah',
          ['bud', ...(hasBase ? ['--pull=never'] : []), '--layers', '-q', '-t', image, context],
          {
            env: containerEnv(),
            timeoutMs: 280_000,
          },
        )
        expect(build.status, `buildah bud failed:\n${build.stderr.slice(-3000)}`).toBe(0)
      } finally {
        rmSync(context, { recursive: true, force: true })
      }
      podman(['rm', '-f', container])
      // SYS_ADMIN only so that systemd can mount the tmpfs inside the container, as it does on the Pi.
      const started = podman([
        ...['run', '-d', '--name', container, '--systemd=always', '--cap-add', 'SYS_ADMIN'],
        ...['-v', `${repoRoot}:/src:ro`, image, '/sbin/init'],
      ])
      expect(started.status, started.stderr).toBe(0)
      const setup = inContainer(
        `
        for _ in $(seq 1 40); do systemctl is-system-running 2>/dev/null | grep -qE 'running|degraded' && break; sleep 0.5; done
        mkdir -p /boot/firmware && touch /boot/firmware/config.txt
        bash /src/deploy/raspberry-pi/install.sh --root / --app /src \\
          --device-id front-door --mqtt-url loopback: --mqtt-password-file - <<<unused >/dev/null
        ln -sfn /src/node_modules /opt/doorbell/app/node_modules
        mkdir -p /opt/doorbell/bin && ln -sfn "$(command -v node)" /opt/doorbell/bin/node
        systemd-sysusers doorbell.conf
        chgrp doorbell /etc/doorbell/agent.yaml
        mkdir -p /etc/systemd/system/doorbell-agent.service.d
        printf '[Service]\\nExecStart=\\nExecStart=/opt/doorbell/bin/node --max-semi-space-size=1 --v8-pool-size=1 --no-opt /opt/doorbell/app/dist/agent/main.js --config /etc/doorbell/agent.yaml --simulate\\nWatchdogSec=4s\\n' \\
          >/etc/systemd/system/doorbell-agent.service.d/test.conf
        systemctl daemon-reload
        systemctl start doorbell-agent.service
        `,
        120_000,
      )
      expect(setup.status, setup.stdout + setup.stderr).toBe(0)
    }, 400_000)

    afterAll(() => {
      podman(['rm', '-f', '-t', '2', container])
    })

    it('becomes active only after the agent says READY=1, as the doorbell user with its groups', () => {
      // `systemctl start` of a Type=notify unit returns once READY=1 arrived (or fails).
      expect(unitProperty('ActiveState')).toBe('active')
      expect(inContainer('journalctl -u doorbell-agent --no-pager').stdout).toContain('"msg":"agent ready"')
      const pid = unitProperty('MainPID')
      expect(inContainer(`stat -c %U /proc/${pid}`).stdout.trim()).toBe('doorbell')
      const groups = inContainer('id -nG doorbell').stdout.trim().split(' ')
      expect(groups).toEqual(expect.arrayContaining(['doorbell', 'gpio', 'video', 'audio', 'i2c']))
    })

    it('keeps the segment ring on a size-capped tmpfs owned by the agent and its data in /var/lib/doorbell', () => {
      const mount = inContainer('findmnt -n -o FSTYPE,OPTIONS /var/lib/doorbell/segments').stdout
      expect(mount).toMatch(/^tmpfs .*size=98304k/)
      expect(inContainer('stat -c %U /var/lib/doorbell/segments /var/lib/doorbell/data/agent').stdout).toBe(
        'doorbell\ndoorbell\n',
      )
    })

    it('sees a read-only system but can write its state, the ring tmpfs and /dev/shm', () => {
      // In the service's own mount namespace, as its user: what ProtectSystem=strict and friends leave writable.
      const pid = unitProperty('MainPID')
      const asAgent = (command: string) =>
        inContainer(
          `nsenter --target ${pid} --mount -- setpriv --reuid doorbell --regid doorbell --init-groups sh -c '${command}'`,
          60_000,
          true,
        )
      for (const path of [
        '/var/lib/doorbell/probe',
        '/var/lib/doorbell/segments/probe',
        '/dev/shm/doorbell-probe',
      ]) {
        const result = asAgent(`touch ${path} && rm ${path}`)
        expect(result.status, `${path}: ${result.stderr}`).toBe(0)
      }
      for (const path of ['/etc/doorbell/probe', '/opt/doorbell/probe', '/usr/local/probe']) {
        expect(asAgent(`touch ${path}`).status, path).not.toBe(0)
      }
      expect(
        inContainer(`nsenter --target ${pid} --mount -- touch /etc/probe`, 60_000, true).status,
      ).not.toBe(0)
    })

    it('is kept alive by WATCHDOG=1 and restarted by the watchdog when the agent hangs', async () => {
      const firstPid = unitProperty('MainPID')
      // Three watchdog periods with no restart: the pings arrive.
      await new Promise((resolve) => setTimeout(resolve, 12_000))
      expect(unitProperty('NRestarts')).toBe('0')
      expect(unitProperty('MainPID')).toBe(firstPid)

      inContainer(`kill -STOP ${firstPid}`)
      await waitFor('a watchdog restart', 30_000, () => unitProperty('NRestarts') === '1')
      expect(inContainer('journalctl -u doorbell-agent --no-pager').stdout).toContain('Watchdog timeout')
      await waitFor('the restarted agent', 30_000, () => unitProperty('ActiveState') === 'active')
      expect(unitProperty('MainPID')).not.toBe(firstPid)
    }, 90_000)

    it('stops cleanly on systemctl stop', () => {
      expect(inContainer('systemctl stop doorbell-agent.service').status).toBe(0)
      expect(unitProperty('Result')).toBe('success')
      expect(unitProperty('ExecMainStatus')).toBe('0')
    })
  })
}
