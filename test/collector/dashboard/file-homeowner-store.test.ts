import { afterAll, describe, expect, it } from 'vitest'
import { FileHomeownerStore } from '../../../collector/dashboard/file-homeowner-store.js'
import { tempDir } from '../collector-harness.js'
import { homeownerStoreContract } from '../store/contracts/homeowner-store.contract.js'
import { folderHarness } from '../store/contracts/store-harness.js'

homeownerStoreContract(
  'json file',
  folderHarness('homeowners', (folder) => new FileHomeownerStore(folder)),
)

describe('FileHomeownerStore', () => {
  const dir = tempDir('filehomeownerstore')
  afterAll(() => dir.cleanup())

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
