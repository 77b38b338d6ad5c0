import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FileClipStore, maxClipBytes } from '../../../collector/clips/file-clip-store.js'
import { tempDir } from '../collector-harness.js'
import { clipStoreContract } from '../store/contracts/clip-store.contract.js'

const dir = tempDir('clip-store')
let current = ''
let made = 0

clipStoreContract('files', {
  async create() {
    made += 1
    current = join(dir.path, String(made))
    return new FileClipStore(current)
  },
  async reopen() {
    return new FileClipStore(current)
  },
  async close() {
    dir.cleanup()
  },
})

describe('FileClipStore', () => {
  it('refuses a chunk that would make the file larger than maxClipBytes', async () => {
    const store = new FileClipStore(join(dir.path, 'large'))
    await expect(
      store.writeChunk('porch', '01J00000000000000000000000', maxClipBytes, Buffer.alloc(1)),
    ).rejects.toThrow(RangeError)
  })
})
