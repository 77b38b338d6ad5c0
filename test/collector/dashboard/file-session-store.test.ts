import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { DashboardSessions } from '../../../collector/dashboard/dashboard-sessions.js'
import { FileSessionStore } from '../../../collector/dashboard/file-session-store.js'
import { tempDir } from '../collector-harness.js'
import { sessionStoreContract } from '../store/contracts/session-store.contract.js'
import { folderHarness } from '../store/contracts/store-harness.js'

sessionStoreContract(
  'json file',
  folderHarness('sessions', (folder) => new FileSessionStore(folder)),
)

describe('FileSessionStore', () => {
  const dir = tempDir('filesessionstore')
  afterAll(() => dir.cleanup())

  it('keeps only the hash of a cookie token on disk', async () => {
    const path = join(dir.path, 'hashed')
    const sessions = new DashboardSessions({ store: new FileSessionStore(path), ttlMs: 60_000 })
    const { token } = await sessions.create('alice', 'owner')
    const text = readFileSync(join(path, 'dashboard', 'sessions.json'), 'utf8')
    expect(text).not.toContain(token)
    expect(text).toContain('tokenHash')
    const restarted = new DashboardSessions({ store: new FileSessionStore(path), ttlMs: 60_000 })
    expect((await restarted.get(token))?.user).toBe('alice')
  })
})
