import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { afterAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { FileHomeownerStore } from '../../../collector/dashboard/file-homeowner-store.js'
import { Homeowners } from '../../../collector/dashboard/homeowners.js'
import { FileIdentityRegistry } from '../../../collector/registry/file-identity-registry.js'
import { topics } from '../../../shared/protocol/index.js'
import { eventually } from '../../support/eventually.js'
import { press, run, startCollector, tempDir, testConfig, text } from '../collector-harness.js'

const adminJs = join(import.meta.dirname, '..', '..', '..', 'dist', 'collector', 'admin', 'main.js')

describe('doorbell-admin', () => {
  const dir = tempDir('admin')
  const admin = (...args: string[]) => run(process.execPath, [adminJs, '--data-dir', dir.path, ...args])

  afterAll(() => dir.cleanup())

  it('prints usage with --help', async () => {
    const result = await run(process.execPath, [adminJs, '--help'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('devices add')
    expect(result.stdout).toContain('users add')
  })

  it('adds a device with a ready agent config, lists it, and keeps only a hash', async () => {
    const file = join(dir.path, 'agent.yaml')
    const result = await admin(
      'devices',
      'add',
      'porch',
      '--write-config',
      file,
      '--url',
      'mqtts://collector.local:8883',
      '--ca-file',
      '/etc/doorbell/ca.pem',
    )
    expect(result.code).toBe(0)
    const config = parse(readFileSync(file, 'utf8')) as {
      deviceId: string
      mqtt: { username: string; password: string; url: string; caFile: string }
    }
    expect(config).toMatchObject({
      deviceId: 'porch',
      mqtt: { username: 'porch', url: 'mqtts://collector.local:8883', caFile: '/etc/doorbell/ca.pem' },
    })
    expect(config.mqtt.password.length).toBeGreaterThan(30)
    expect(statSync(file).mode & 0o077).toBe(0)
    expect(readFileSync(join(dir.path, 'registry.json'), 'utf8')).not.toContain(config.mqtt.password)
    expect((await admin('devices', 'list')).stdout).toMatch(/porch\s+enabled/)
    expect((await admin('devices', 'add', 'porch')).code).toBe(1)
  })

  it('disables, rotates and removes devices and manages users, with clear errors', async () => {
    expect((await admin('devices', 'disable', 'porch')).stdout).toContain('disabled')
    expect((await admin('devices', 'list', '--json')).stdout).toContain('"isDisabled": true')
    expect((await admin('devices', 'enable', 'porch')).code).toBe(0)
    const rotated = await admin('devices', 'rotate', 'porch')
    expect(rotated.stdout).toMatch(/secret: \S+/)
    expect((await admin('users', 'add', 'dashboard')).stdout).toMatch(/secret: \S+/)
    expect((await admin('users', 'list')).stdout).toContain('dashboard')
    expect((await admin('users', 'remove', 'dashboard')).code).toBe(0)
    const missing = await admin('devices', 'remove', 'nobody')
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('DEVICE_NOT_FOUND')
    expect((await admin('devices', 'frobnicate', 'x')).code).toBe(2)
  })

  it('takes effect on a running collector: a disabled device is refused and a service user is read-only', async () => {
    const collector = await startCollector(testConfig(join(dir.path)))
    try {
      const secret = (await admin('devices', 'rotate', 'porch')).stdout.match(/secret: (\S+)/)?.[1] as string
      const base = ['-h', '127.0.0.1', '-p', String(collector.mqttPort), '-q', '1']
      const asPorch = [...base, '-u', 'porch', '-P', secret, '-i', 'porch']
      const ok = await run('mosquitto_pub', [
        ...asPorch,
        '-t',
        topics.event('porch', 'high'),
        '-m',
        text(press('porch', 1)),
      ])
      expect(ok.code).toBe(0)
      await admin('devices', 'disable', 'porch')
      const refused = await eventually(
        async () => {
          const r = await run('mosquitto_pub', [
            ...asPorch,
            '-t',
            topics.status('porch'),
            '-m',
            '{"state":"online"}',
          ])
          return r.code !== 0 ? r : undefined
        },
        'the disabled device refused',
        10_000,
      )
      expect(refused.stderr).toMatch(/refused/i)
      const userSecret = (await admin('users', 'add', 'homeassistant')).stdout.match(
        /secret: (\S+)/,
      )?.[1] as string
      const sub = await run('mosquitto_sub', [
        ...base,
        '-u',
        'homeassistant',
        '-P',
        userSecret,
        '-i',
        'homeassistant:1',
        '-t',
        'doorbell/v1/+/event/+',
        '-t',
        '#',
        '-W',
        '1',
        '-d',
      ])
      // SUBACK grants the doorbell filter (QoS 1) and refuses # with 0x80 (128), on one connection.
      expect(sub.stdout).toMatch(/Subscribed \(mid: \d+\): 1, 128/)
    } finally {
      await collector.close()
    }
  })

  it('cuts the open session of a device that gets disabled', async () => {
    const collector = await startCollector(testConfig(join(dir.path)))
    try {
      await admin('devices', 'add', 'garage')
      const secret = (await admin('devices', 'rotate', 'garage')).stdout.match(/secret: (\S+)/)?.[1] as string
      const client = mqtt.connect(`mqtt://127.0.0.1:${collector.mqttPort}`, {
        clientId: 'garage',
        username: 'garage',
        password: secret,
        reconnectPeriod: 0,
      })
      client.on('error', () => {})
      await new Promise<void>((resolve) => client.once('connect', () => resolve()))
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()))
      await admin('devices', 'disable', 'garage')
      await closed
      client.end(true)
    } finally {
      await collector.close()
    }
  })

  it('cuts a disabled device even when another device logs in before the collector checks the registry', async () => {
    const collector = await startCollector(testConfig(join(dir.path)))
    const clients: mqtt.MqttClient[] = []
    const connect = async (deviceId: string, secret: string) => {
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${collector.mqttPort}`, {
        clientId: deviceId,
        username: deviceId,
        password: secret,
        reconnectPeriod: 0,
      })
      client.on('error', () => {})
      clients.push(client)
      return client
    }
    try {
      const secretOf = async (deviceId: string) => {
        await admin('devices', 'add', deviceId)
        return (await admin('devices', 'rotate', deviceId)).stdout.match(/secret: (\S+)/)?.[1] as string
      }
      const shedSecret = await secretOf('shed')
      const gateSecret = await secretOf('gate')
      const shed = await connect('shed', shedSecret)
      let isShedCut = false
      shed.once('close', () => {
        isShedCut = true
      })
      // The login right after the change reloads the registry before the collector's periodic check does.
      await new FileIdentityRegistry(dir.path).setDeviceDisabled('shed', true)
      await connect('gate', gateSecret)
      await eventually(() => isShedCut, 'the disabled device cut off', 6000)
    } finally {
      for (const client of clients) client.end(true)
      await collector.close()
    }
  })

  it('takes a homeowner password from DOORBELL_PASSWORD beside a config file, which does not refuse it as a config field', async () => {
    const config = join(dir.path, 'collector.yaml')
    writeFileSync(config, `dataDir: ${join(dir.path, 'with-config')}\n`)
    const added = await run('env', [
      'DOORBELL_PASSWORD=a long password',
      process.execPath,
      adminJs,
      '--config',
      config,
      'homeowners',
      'add',
      'alice',
      '--role',
      'viewer',
    ])
    expect(added.code, added.stderr).toBe(0)
    const homeowners = new Homeowners(new FileHomeownerStore(join(dir.path, 'with-config')))
    expect(await homeowners.verify('alice', 'a long password')).toMatchObject({ role: 'viewer' })
  })

  it('says POSTGRES_UNAVAILABLE, without the password, when the fleet database named by the config cannot be reached', async () => {
    const config = join(dir.path, 'fleet.yaml')
    writeFileSync(
      config,
      "store: postgres\npostgres: { url: 'postgres://doorbell:hunter2@127.0.0.1:1/doorbell', connectTimeoutMs: 500 }\nredis: { url: 'redis://127.0.0.1:1' }\n",
    )
    const result = await run(process.execPath, [adminJs, '--config', config, 'devices', 'add', 'porch'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('POSTGRES_UNAVAILABLE')
    expect(result.stderr).toContain('127.0.0.1:1/doorbell')
    expect(result.stderr).not.toContain('hunter2')
  })
})
