import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningCollector } from '../../collector/main.js'
import { topics } from '../../shared/protocol/index.js'
import { eventually } from '../support/eventually.js'
import {
  addDevice,
  metric,
  press,
  run,
  startCollector,
  tempDir,
  testConfig,
  text,
} from './collector-harness.js'

async function openssl(args: string[]): Promise<void> {
  const result = await run('openssl', args, 20_000)
  if (result.code !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`)
}

/** A test CA, a server certificate for 127.0.0.1 and a client certificate with CN = device id. */
async function makePki(dir: string): Promise<void> {
  const p = (name: string): string => join(dir, name)
  await openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=doorbell test CA',
  ])
  for (const [name, subject, ext] of [
    ['server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth'],
    ['client', '/CN=porch', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    await openssl([
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      p(`${name}.key`),
      '-out',
      p(`${name}.csr`),
      '-subj',
      subject,
    ])
    const { writeFileSync } = await import('node:fs')
    writeFileSync(p(`${name}.ext`), `${ext}\n`)
    await openssl([
      'x509',
      '-req',
      '-in',
      p(`${name}.csr`),
      '-CA',
      p('ca.pem'),
      '-CAkey',
      p('ca.key'),
      '-CAcreateserial',
      '-out',
      p(`${name}.pem`),
      '-days',
      '2',
      '-extfile',
      p(`${name}.ext`),
    ])
  }
}

describe('MQTT over TLS', () => {
  const dir = tempDir('collector-tls')
  let collector: RunningCollector
  let secret: string

  beforeAll(async () => {
    await makePki(dir.path)
    secret = await addDevice(join(dir.path, 'data'), 'porch')
    collector = await startCollector(
      testConfig(join(dir.path, 'data'), {
        mqtt: {
          port: 0,
          wsPort: null,
          tls: {
            port: 0,
            certFile: join(dir.path, 'server.pem'),
            keyFile: join(dir.path, 'server.key'),
            caFile: join(dir.path, 'ca.pem'),
          },
        },
      }),
    )
  }, 60_000)

  afterAll(async () => {
    await collector?.close()
    dir.cleanup()
  })

  const tlsArgs = (): string[] => [
    '-h',
    '127.0.0.1',
    '-p',
    String(collector.tlsPort),
    '--cafile',
    join(dir.path, 'ca.pem'),
  ]

  it('accepts a device with its password over TLS pinned to the test CA', async () => {
    const event = press('porch', 1)
    const result = await run('mosquitto_pub', [
      ...tlsArgs(),
      ...['-u', 'porch', '-P', secret, '-i', 'porch', '-q', '1'],
      ...['-t', topics.event('porch', 'high'), '-m', text(event)],
    ])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    await collector.flush()
    expect(await collector.store.getEvent(event.id)).toBeDefined()
  })

  it('accepts a device by client certificate (CN = device id) without a password', async () => {
    const event = press('porch', 2)
    const result = await run('mosquitto_pub', [
      ...tlsArgs(),
      ...[
        '--cert',
        join(dir.path, 'client.pem'),
        '--key',
        join(dir.path, 'client.key'),
        '-i',
        'porch:cert',
        '-q',
        '1',
      ],
      ...['-t', topics.event('porch', 'high'), '-m', text(event)],
    ])
    expect(result.code).toBe(0)
    await collector.flush()
    expect(await collector.store.getEvent(event.id)).toBeDefined()
  })

  it('refuses a TLS client that trusts another CA', async () => {
    const result = await run('mosquitto_pub', [
      ...[
        '-h',
        '127.0.0.1',
        '-p',
        String(collector.tlsPort),
        '--cafile',
        '/etc/ssl/certs/ca-certificates.crt',
      ],
      ...['-u', 'porch', '-P', secret, '-i', 'porch:x', '-t', topics.status('porch'), '-m', '{}'],
    ])
    expect(result.code).not.toBe(0)
    await eventually(
      () => metric(collector, 'doorbell_collector_rejections_total', 'reason="tls_handshake"'),
      'the TLS handshake rejection counted',
      10_000,
    )
  })
})
