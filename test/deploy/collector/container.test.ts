import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { createEnvelope, encodeEvent, topics } from '../../../shared/protocol/index.js'
import { containerEnv, hasProgram, repoRoot, run, tempDir } from '../helpers.js'

const image = 'doorbell-collector:test'
const container = `doorbell-collector-test-${process.pid}`
const baseImage = 'docker.io/library/node:22-bookworm-slim'
const hasContainerTools = hasProgram('podman') && hasProgram('buildah')
const skipReason =
  'SKIPPED: the collector container test needs podman and buildah (apt-get install podman buildah runc; ' +
  'see ../shared/tools/container-env.sh for a machine without a registry)'

function podman(args: readonly string[], timeoutMs = 60_000) {
  return run('podman', args, { env: containerEnv(), timeoutMs })
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

/** Polls until check() returns a value, or throws after deadlineMs. */
async function waitFor<T>(what: string, deadlineMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + deadlineMs
  while (Date.now() < until) {
    const value = await check().catch(() => undefined)
    if (value !== undefined) return value
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe('compose.yaml', () => {
  it('builds the collector from the Dockerfile with a data volume and a read-only TLS mount', () => {
    const compose = parseYaml(readFileSync(join(repoRoot, 'deploy/collector/compose.yaml'), 'utf8'))
    const collector = compose.services.collector
    expect(
      existsSync(join(repoRoot, 'deploy/collector', collector.build.context, collector.build.dockerfile)),
    ).toBe(true)
    expect(collector.volumes).toEqual(expect.arrayContaining(['data:/data', './tls:/etc/doorbell/tls:ro']))
    expect(compose.volumes).toHaveProperty('data')
    expect(compose.services.ntfy.profiles).toEqual(['ntfy'])
  })

  it('runs coturn beside the collector with TURN REST credentials (use-auth-secret) and the live UDP port open', () => {
    const compose = parseYaml(readFileSync(join(repoRoot, 'deploy/collector/compose.yaml'), 'utf8'))
    const turn = compose.services.turn
    expect(turn.profiles).toEqual(['live'])
    expect(turn.command).toEqual(
      expect.arrayContaining(['--use-auth-secret', `--static-auth-secret=\${TURN_SECRET:-}`, '--no-cli']),
    )
    expect(compose.services.collector.ports).toContain('8189:8189/udp')
    expect(compose.services.collector.env_file).toEqual([{ path: 'live.env', required: false }])
  })
})

if (!hasContainerTools) {
  // A visible skip with its reason, never a silent pass.
  console.warn(skipReason)
  it.skip(skipReason, () => {})
} else {
  describe('collector container (podman)', () => {
    let mqttPort = 0
    let httpPort = 0
    let tlsPort = 0
    let tlsDir = ''

    beforeAll(async () => {
      expect(
        existsSync(join(repoRoot, 'collector/main.ts')),
        'collector/main.ts is missing: the image packages the collector, which this tree does not have yet',
      ).toBe(true)
      const pull = podman(['image', 'exists', baseImage]).status === 0 ? ['--pull=never'] : []
      const build = run(
        'buildah',
        [
          'bud',
          ...pull,
          '--format',
          'docker',
          '--layers',
          '-q',
          '-t',
          image,
          '-f',
          'deploy/collector/Dockerfile',
          '.',
        ],
        { env: containerEnv(), timeoutMs: 280_000 },
      )
      expect(build.status, `buildah bud failed:\n${build.stderr.slice(-3000)}`).toBe(0)
      mqttPort = await freePort()
      httpPort = await freePort()
      tlsPort = await freePort()
      // A private CA and a server certificate for localhost, as docs/deployment.md makes them.
      tlsDir = tempDir('collector-tls')
      const openssl = (args: string[]) => {
        const result = run('openssl', args, { cwd: tlsDir })
        expect(result.status, result.stderr).toBe(0)
      }
      openssl([
        ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=doorbell test CA'],
        ...['-keyout', 'ca.key', '-out', 'ca.pem'],
      ])
      openssl([
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        '/CN=localhost',
        '-keyout',
        'server.key',
        '-out',
        'server.csr',
      ])
      writeFileSync(join(tlsDir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n')
      openssl([
        ...['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'],
        ...['-days', '1', '-extfile', 'san.ext', '-out', 'server.crt'],
      ])
      // The container's user (uid 1000) must read the key through the read-only mount.
      chmodSync(tlsDir, 0o755)
      chmodSync(join(tlsDir, 'server.key'), 0o644)
      podman(['rm', '-f', '-v', container])
      // The same restrictions as compose.yaml: read-only root, no capabilities, no new privileges.
      const started = podman([
        'run',
        '-d',
        '--init',
        '--name',
        container,
        '--read-only',
        '--tmpfs',
        '/tmp',
        '--cap-drop',
        'ALL',
        '--security-opt',
        'no-new-privileges',
        '-p',
        `127.0.0.1:${mqttPort}:1883`,
        '-p',
        `127.0.0.1:${httpPort}:8080`,
        '-p',
        `127.0.0.1:${tlsPort}:8883`,
        '-v',
        `${tlsDir}:/etc/doorbell/tls:ro`,
        '-e',
        'DOORBELL_MQTT__TLS__CERT_FILE=/etc/doorbell/tls/server.crt',
        '-e',
        'DOORBELL_MQTT__TLS__KEY_FILE=/etc/doorbell/tls/server.key',
        image,
      ])
      expect(started.status, started.stderr).toBe(0)
    }, 300_000)

    afterAll(() => {
      podman(['stop', '-t', '5', container])
      podman(['rm', '-f', '-v', container])
      if (tlsDir) rmSync(tlsDir, { recursive: true, force: true })
    })

    it('answers GET /healthz with 200 and passes its own HEALTHCHECK', async () => {
      const body = await waitFor('the collector health endpoint', 20_000, async () => {
        const response = await fetch(`http://127.0.0.1:${httpPort}/healthz`)
        return response.ok ? await response.json() : undefined
      }).catch((err: Error) => {
        const logs = podman(['logs', container])
        throw new Error(`${err.message}; container log:\n${logs.stdout}${logs.stderr}`)
      })
      expect(body).toMatchObject({ status: 'ok' })
      const health = podman(['healthcheck', 'run', container])
      expect(health.status, health.stdout + health.stderr).toBe(0)
      const logs = podman(['logs', container])
      expect(logs.stdout).toContain('"msg":"collector ready"')
    })

    it('runs as an unprivileged user with its data in /data', () => {
      expect(podman(['exec', container, 'id', '-u']).stdout.trim()).not.toBe('0')
      const inspect = podman([
        'image',
        'inspect',
        image,
        '--format',
        '{{json .Config.Volumes}} {{.Config.User}}',
      ])
      expect(inspect.stdout).toContain('"/data"')
      expect(inspect.stdout.trim().endsWith(' node')).toBe(true)
    })

    it('stores a press from an MQTT client with a device created by doorbell-admin, and acks it', async () => {
      const added = podman([
        'exec',
        container,
        'doorbell-admin',
        'devices',
        'add',
        'front-door',
        '--url',
        `mqtt://127.0.0.1:${mqttPort}`,
        '--write-config',
        '/data/front-door.yaml',
      ])
      expect(added.status, added.stderr).toBe(0)
      const agentConfig = parseYaml(podman(['exec', container, 'cat', '/data/front-door.yaml']).stdout)
      expect(agentConfig).toMatchObject({ deviceId: 'front-door', mqtt: { username: 'front-door' } })

      // A wrong password is refused (the registry reload is asynchronous, so the right one is retried).
      const wrong = run('mosquitto_pub', [
        ...['-h', '127.0.0.1', '-p', String(mqttPort), '-i', 'front-door', '-u', 'front-door', '-P', 'wrong'],
        ...['-t', topics.status('front-door'), '-m', '{}', '-q', '1'],
      ])
      expect(wrong.status).not.toBe(0)

      const envelope = createEnvelope({ deviceId: 'front-door', seq: 1, type: 'button.press', payload: {} })
      const ackedIds = await waitFor('an ack for the press', 30_000, async () => {
        const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
          clientId: 'front-door',
          username: 'front-door',
          password: String(agentConfig.mqtt.password),
          reconnectPeriod: 0,
          connectTimeout: 5000,
        })
        try {
          const ack = new Promise<string[]>((resolve) => {
            client.on('message', (_topic, payload) => {
              const message = JSON.parse(payload.toString()) as { payload?: { ids?: string[] } }
              if (message.payload?.ids?.includes(envelope.id)) resolve(message.payload.ids)
            })
          })
          await client.subscribeAsync(topics.ack('front-door'), { qos: 1 })
          await client.publishAsync(topics.event('front-door', 'high'), encodeEvent(envelope), { qos: 1 })
          return await Promise.race([
            ack,
            new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 5000)),
          ])
        } finally {
          await client.endAsync(true)
        }
      })
      expect(ackedIds).toContain(envelope.id)

      // The same device over MQTT with TLS, the certificate from the read-only mount, pinned to the private CA.
      const overTls = run('mosquitto_pub', [
        ...['-h', 'localhost', '-p', String(tlsPort), '--cafile', join(tlsDir, 'ca.pem')],
        ...['-i', 'front-door', '-u', 'front-door', '-P', String(agentConfig.mqtt.password)],
        ...['-t', topics.event('front-door', 'high'), '-m', encodeEvent(envelope).toString(), '-q', '1'],
      ])
      expect(overTls.status, overTls.stderr).toBe(0)
    }, 60_000)
  })
}
