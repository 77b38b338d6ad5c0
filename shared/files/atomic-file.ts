import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { mkdir, open, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'

/** Options of an atomic write. */
export interface AtomicWriteOptions {
  /** Mode of a file created by the write; state files with hashes or settings use 0o600. */
  readonly mode?: number
}

/** Folders the write has to create hold state: private to the service's user. */
const folderMode = 0o700

let tempCounter = 0

/** A temp name beside the target (same filesystem, so the rename is atomic), unique in this process. */
function tempPathFor(path: string): string {
  tempCounter += 1
  return `${path}.${process.pid}.${tempCounter}.tmp`
}

/**
 * Replaces a file atomically and durably: the data goes to a temp file beside it, which is fsynced, renamed
 * over the target, and then the folder is fsynced. A crash or power cut leaves the old file or the new one,
 * never half of one, and once the promise resolves the new one survives a power cut (without the first
 * fsync the rename may reach the disk before the data; without the last, the rename itself may be lost).
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const folder = dirname(path)
  await mkdir(folder, { recursive: true, mode: folderMode })
  const temp = tempPathFor(path)
  try {
    const handle = await open(temp, 'w', options.mode ?? 0o644)
    try {
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, path)
  } catch (err) {
    await rm(temp, { force: true })
    throw err
  }
  await syncDirectory(folder)
}

/** writeFileAtomic for callers that must stay synchronous (state read and written inside one call). */
export function writeFileAtomicSync(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): void {
  const folder = dirname(path)
  mkdirSync(folder, { recursive: true, mode: folderMode })
  const temp = tempPathFor(path)
  try {
    writeFileSync(temp, data, { mode: options.mode ?? 0o644, flush: true })
    renameSync(temp, path)
  } catch (err) {
    rmSync(temp, { force: true })
    throw err
  }
  const fd = openSync(folder, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** fsyncs a folder so entries created or renamed in it survive a power cut. */
export async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
