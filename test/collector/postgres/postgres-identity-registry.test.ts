import { describe, expect, it } from 'vitest'
import {
  PostgresIdentityRegistry,
  type RegistryListenOptions,
} from '../../../collector/postgres/postgres-identity-registry.js'
import { hashSecret } from '../../../collector/registry/secret-hash.js'
import { eventually } from '../../support/eventually.js'
import { identityRegistryContract } from '../store/contracts/identity-registry.contract.js'
import { usePostgresSuite } from './postgres-suite.js'

const suite = usePostgresSuite()
let currentUrl = ''
const opened: PostgresIdentityRegistry[] = []

async function open(url: string, listen?: RegistryListenOptions): Promise<PostgresIdentityRegistry> {
  const registry = await PostgresIdentityRegistry.open(await suite.connect(url), listen)
  opened.push(registry)
  return registry
}

const listening = (url: string): RegistryListenOptions => ({ url, applicationName: 'registry test' })

identityRegistryContract('postgres', {
  async create() {
    currentUrl = await suite.freshDatabase()
    return open(currentUrl, listening(currentUrl))
  },
  async other() {
    // The admin CLI's handle: no listener.
    return open(currentUrl)
  },
  async seedLegacyDevice(deviceId, secret) {
    const db = await suite.connect(currentUrl, 1)
    await db.transaction(async (client) => {
      const raised = await client.query<{ revision: string }>(
        'UPDATE identity_revision SET revision = revision + 1 RETURNING revision',
      )
      await client.query(
        `INSERT INTO identities (name, kind, secret_hash, created_at, revision)
         VALUES ($1, 'device', $2, '2025-01-01T00:00:00.000Z', $3)`,
        [deviceId, await hashSecret(secret), raised.rows[0]?.revision],
      )
    })
  },
  async close() {
    await Promise.all(opened.map((registry) => registry.close()))
  },
})

describe('PostgresIdentityRegistry across nodes', () => {
  it("takes in another process's change when it is announced, without being asked to reload", async () => {
    const url = await suite.freshDatabase()
    const node = await open(url, listening(url))
    let announced = 0
    node.watch(() => {
      announced += 1
    })
    const admin = await open(url)
    const secret = await admin.addDevice('porch')
    await eventually(() => node.isDeviceEnabled('porch'), 'the new device on the node')
    expect(announced).toBe(1)
    const credential = node.credentialOf({ kind: 'device', deviceId: 'porch' })
    expect((await node.authenticate('porch', secret))?.credential).toBe(credential)
    const rotated = await admin.rotateDevice('porch')
    await eventually(
      () => node.credentialOf({ kind: 'device', deviceId: 'porch' }) !== credential,
      'the rotation on the node',
    )
    expect(await node.authenticate('porch', secret)).toBeUndefined()
    expect(await node.authenticate('porch', rotated)).toBeDefined()
    await admin.removeDevice('porch')
    await eventually(() => !node.isActive({ kind: 'device', deviceId: 'porch' }), 'the removal on the node')
    expect(node.listDevices()).toEqual([])
    // A removed name can be registered again, as a device or a service user.
    await admin.addUser('porch')
    await eventually(() => node.listUsers().length === 1, 'the new user on the node')
  })

  it('answers logins from memory while the database is away, and refuses changes with POSTGRES_UNAVAILABLE', async () => {
    const url = await suite.freshDatabase()
    const node = await open(url, listening(url))
    const secret = await node.addDevice('porch')
    await suite.engine.stop()
    try {
      expect((await node.authenticate('porch', secret))?.principal.kind).toBe('device')
      await expect(node.addDevice('garage')).rejects.toMatchObject({ code: 'POSTGRES_UNAVAILABLE' })
      await expect(node.reloadIfChanged()).rejects.toMatchObject({ code: 'POSTGRES_UNAVAILABLE' })
      expect(node.listDevices().map((d) => d.deviceId)).toEqual(['porch'])
    } finally {
      await suite.engine.start()
    }
    // Back: the listener reconnects, and the next change made elsewhere reaches the node.
    const admin = await open(url)
    await admin.addDevice('garage')
    await eventually(() => node.isDeviceEnabled('garage'), 'a change after the database came back', 8000)
  }, 30_000)
})
