import { describe, expect, it } from 'vitest'
import { FileHomeownerStore } from '../../../collector/dashboard/file-homeowner-store.js'
import { tempDir } from '../collector-harness.js'
import { homeownerStoreContract } from '../store/contracts/homeowner-store.contract.js'

const dir = tempDir('homeowners')
let current = ''
let made = 0

homeownerStoreContract('json file', {
  async create() {
    made += 1
    current = `${dir.path}/${made}`
    return new FileHomeownerStore(current)
  },
  async reopen() {
    return new FileHomeownerStore(current)
  },
  async close() {
    dir.cleanup()
  },
})

describe('FileHomeownerStore', () => {
  it('sees a change another process made to the file (doorbell-admin while the collector runs)', async () => {
    const path = `${dir.path}/shared`
    const collector = new FileHomeownerStore(path)
    const admin = new FileHomeownerStore(path)
    expect(await collector.get('gina')).toBeUndefined()
    await admin.add({ name: 'gina', role: 'owner', createdAt: '2026-01-01T00:00:00.000Z', passwordHash: 'h' })
    expect((await collector.get('gina'))?.role).toBe('owner')
    await admin.remove('gina')
    expect(await collector.get('gina')).toBeUndefined()
  })
})
