import { closeSync, openSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { isDiskFull } from '../../../collector/store/disk-full.js'
import { mountTinyDisk } from '../../faults/support/tiny-disk.js'
import { tempDir } from '../collector-harness.js'

const coded = (code: string, message = 'failed', cause?: unknown) =>
  Object.assign(new Error(message, cause === undefined ? {} : { cause }), { code })

describe('isDiskFull', () => {
  const dir = tempDir('disk-full')
  afterAll(() => dir.cleanup())

  it('is true for an ENOSPC code anywhere in the cause chain', async () => {
    expect(await isDiskFull(coded('ENOSPC'), dir.path)).toBe(true)
    expect(await isDiskFull(new Error('write failed', { cause: coded('ENOSPC') }), dir.path)).toBe(true)
  })

  it('does not decide on the message text', async () => {
    expect(await isDiskFull(new Error('IO error: No space left on device (ENOSPC)'), dir.path)).toBe(false)
    expect(await isDiskFull(coded('EIO', 'no space left'), dir.path)).toBe(false)
  })

  it("takes Level's I/O error for a full disk only when the store's filesystem is nearly full", async (context) => {
    expect(await isDiskFull(coded('LEVEL_IO_ERROR'), dir.path)).toBe(false)
    const disk = mountTinyDisk('disk-full-check', '1m')
    if ('refused' in disk) {
      context.skip(`tmpfs mount refused (${disk.refused}); run as root`)
      return
    }
    try {
      const fd = openSync(join(disk.path, 'ballast'), 'w')
      try {
        for (;;) writeSync(fd, Buffer.alloc(64 * 1024))
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
      } finally {
        closeSync(fd)
      }
      expect(await isDiskFull(coded('LEVEL_IO_ERROR'), disk.path)).toBe(true)
      rmSync(join(disk.path, 'ballast'))
    } finally {
      disk.release()
    }
  })
})
