import { execFileSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer, type Server } from 'node:tls'
import { Aedes } from 'aedes'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SystemClock } from '../../../agent/clock/clock.js'
import { MqttUplink } from '../../../agent/uplink/mqtt-uplink.js'
import { eventually } from '../../support/eventually.js'

const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

/** A CA, a server certificate for 127.0.0.1 signed by it, and an unrelated CA. */
async function makePki(dir: string) {
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })
  run([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '1',
    '-subj',
    '/CN=doorbell-test-ca',
  ])
  run([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'other.key',
    '-out',
    'other.pem',
    '-days',
    '1',
    '-subj',
    '/CN=other-ca',
  ])
  run(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'])
  await writeFile(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  run([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '1',
    '-extfile',
    'san.ext',
  ])
  const read = (name: string) => readFile(join(dir, name))
  return {
    ca: await read('ca.pem'),
    other: await read('other.pem'),
    key: await read('server.key'),
    cert: await read('server.pem'),
  }
}

describe('MqttUplink over TLS with a pinned CA', () => {
  let dir: string
  let broker: Aedes
  let server: Server
  let port: number
  let pki: Awaited<ReturnType<typeof makePki>>

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agent-tls-'))
    pki = await makePki(dir)
    broker = await Aedes.createBroker()
    server = createServer({ key: pki.key, cert: pki.cert }, (socket) => broker.handle(socket))
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    port = (server.address() as AddressInfo).port
  })

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await new Promise<void>((resolve) => broker.close(() => resolve()))
    await rm(dir, { recursive: true, force: true })
  })

  function uplink(ca: Buffer) {
    return new MqttUplink({
      clock: new SystemClock(),
      statusMessage: (state) => Buffer.from(state),
      options: {
        url: `mqtts://127.0.0.1:${port}`,
        deviceId: 'front-door',
        ca,
        keepaliveS: 30,
        connectTimeoutMs: 2_000,
        backoff: { initialDelayMs: 100, maxDelayMs: 200 },
      },
    })
  }

  it('connects when the broker certificate chains to the pinned CA', async () => {
    const u = uplink(pki.ca)
    u.start()
    await eventually(() => u.isOnline, 'online over TLS')
    await u.close()
  })

  it('refuses a broker whose certificate does not chain to the pinned CA', async () => {
    const u = uplink(pki.other)
    const errors: Error[] = []
    u.on('connectionError', (err) => errors.push(err))
    u.start()
    await eventually(() => errors.length > 0, 'TLS refusal')
    expect(u.isOnline).toBe(false)
    expect(String(errors[0]?.message)).toMatch(/certificate|self.signed|verify/i)
    await u.close()
  })
})
