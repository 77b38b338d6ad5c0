import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs'
import { DoorbellError } from '../../shared/errors.js'

/** How long a lock file may stand before it counts as stale even when its pid looks alive. */
const staleAfterMs = 30_000
const waitStepMs = 10

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function isStale(lockPath: string, nowMs: number): boolean {
  try {
    const pid = Number(readFileSync(lockPath, 'utf8'))
    const ageMs = nowMs - statSync(lockPath).mtimeMs
    return !Number.isInteger(pid) || pid <= 0 || !isProcessAlive(pid) || ageMs > staleAfterMs
  } catch {
    // Gone between open and read: not ours to remove, just try again.
    return false
  }
}

/**
 * Runs fn while holding `<path>.lock` (created exclusively, holding our pid), so the collector and the
 * admin CLI never interleave a read-modify-write of the same file. Synchronous on purpose: the critical
 * sections are a few milliseconds of JSON, and the CLI's callers are synchronous. A lock left by a dead
 * process (or older than 30 s) is broken. Throws REGISTRY_BUSY after waitMs.
 */
export function withFileLock<T>(path: string, fn: () => T, waitMs = 5000): T {
  const lockPath = `${path}.lock`
  const deadlineMs = Date.now() + waitMs
  for (;;) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600)
      writeSync(fd, String(process.pid))
      closeSync(fd)
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      if (isStale(lockPath, Date.now())) {
        try {
          unlinkSync(lockPath)
        } catch {}
        continue
      }
      if (Date.now() >= deadlineMs) throw new DoorbellError('REGISTRY_BUSY', lockPath)
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, waitStepMs)
    }
  }
  try {
    return fn()
  } finally {
    try {
      unlinkSync(lockPath)
    } catch {}
  }
}
