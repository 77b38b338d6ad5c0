import { statfs } from 'node:fs/promises'

/**
 * Free space below which a LevelDB I/O error is taken for a full disk: LevelDB's write buffer (4 MiB by
 * default), since flushing a full memtable writes a table file of up to that size.
 */
const levelDiskFullBelowBytes = 4 * 1024 * 1024

/**
 * True when a store write failed because the disk is full. Decided on typed values only: an `ENOSPC`
 * code anywhere in the cause chain, or Level's `LEVEL_IO_ERROR` while the store's filesystem has less
 * than levelDiskFullBelowBytes free. (LevelDB reports ENOSPC as text only, so the free space is checked
 * instead of the message.)
 */
export async function isDiskFull(err: unknown, path: string): Promise<boolean> {
  const codes = errorCodes(err)
  if (codes.has('ENOSPC')) return true
  if (!codes.has('LEVEL_IO_ERROR')) return false
  try {
    const fs = await statfs(path)
    return fs.bavail * fs.bsize < levelDiskFullBelowBytes
  } catch {
    return false
  }
}

/** Every `code` along an error's cause chain (bounded, in case of a cycle). */
function errorCodes(err: unknown): Set<string> {
  const codes = new Set<string>()
  let current: unknown = err
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code
    if (typeof code === 'string') codes.add(code)
    current = current.cause
  }
  return codes
}
