import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { FileIdentityRegistry } from '../../../collector/registry/file-identity-registry.js'
import { hashSecret } from '../../../collector/registry/secret-hash.js'
import { tempDir } from '../collector-harness.js'
import { identityRegistryContract } from '../store/contracts/identity-registry.contract.js'

const dir = tempDir('file-identity-registry')
let current = ''
let created = 0

identityRegistryContract('file', {
  async create() {
    created += 1
    current = join(dir.path, `registry-${created}`)
    return new FileIdentityRegistry(current)
  },
  async other() {
    return new FileIdentityRegistry(current)
  },
  async seedLegacyDevice(deviceId, secret) {
    const path = join(current, 'registry.json')
    let file = { version: 1, devices: {} as Record<string, unknown>, users: {} }
    try {
      file = JSON.parse(readFileSync(path, 'utf8')) as typeof file
    } catch {
      // No file yet: the device is the first.
    }
    file.devices[deviceId] = {
      deviceId,
      secretHash: await hashSecret(secret),
      isDisabled: false,
      createdAt: '2025-01-01T00:00:00.000Z',
    }
    mkdirSync(current, { recursive: true })
    writeFileSync(path, JSON.stringify(file), { mode: 0o600 })
  },
  async close() {
    dir.cleanup()
  },
})
