import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A small tmpfs mounted for one test: a disk that fills up. */
export interface TinyDisk {
  readonly path: string
  /** Unmounts (lazily if busy) and removes the mount point. */
  release(): void
}

/**
 * Mounts a tmpfs of `size` (e.g. '2m') on a fresh folder. Needs root (CAP_SYS_ADMIN); returns the
 * reason instead when the mount is refused, so the caller can skip with it.
 */
export function mountTinyDisk(prefix: string, size: string): TinyDisk | { readonly refused: string } {
  const path = mkdtempSync(join(tmpdir(), `${prefix}-`))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', path], { stdio: 'pipe' })
  } catch (err) {
    rmdirSync(path)
    return { refused: String((err as { stderr?: Buffer }).stderr ?? err).trim() }
  }
  return {
    path,
    release() {
      try {
        execFileSync('umount', [path], { stdio: 'pipe' })
      } catch {
        execFileSync('umount', ['-l', path], { stdio: 'pipe' })
      }
      rmdirSync(path)
    },
  }
}
