import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { FileClipStore, maxClipBytes } from '../../../collector/clips/file-clip-store.js'
import { tempDir } from '../collector-harness.js'
import { clipStoreContract } from '../store/contracts/clip-store.contract.js'
import { folderHarness } from '../store/contracts/store-harness.js'

clipStoreContract(
  'files',
  folderHarness('clip-store', (folder) => new FileClipStore(folder)),
)

describe('FileClipStore', () => {
  const dir = tempDir('fileclipstore')
  afterAll(() => dir.cleanup())

  it('refuses a chunk that would make the file larger than maxClipBytes', async () => {
    const store = new FileClipStore(join(dir.path, 'large'))
    await expect(
      store.writeChunk('porch', '01J00000000000000000000000', maxClipBytes, Buffer.alloc(1)),
    ).rejects.toThrow(RangeError)
  })
})
