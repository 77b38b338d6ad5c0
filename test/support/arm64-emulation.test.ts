import { spawnSync } from 'node:child_process'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  arm64NodeBinary,
  arm64UnavailableReason,
  emulated,
  QemuCrashError,
  qemuCrashAttempts,
  qemuCrashOf,
  retryingQemuCrashes,
  runEmulated,
} from './arm64-emulation.js'

/**
 * How the arm64 tests tell a QEMU crash from a real failure, with real outcomes of the emulator: an arm64
 * Node that dies of SIGSEGV looks to the host exactly like QEMU crashing (QEMU prints "uncaught target
 * signal" and kills itself with that signal), so it is retried; a program that fails by itself is not.
 */

const skipReason = arm64UnavailableReason()

describe.skipIf(skipReason)(
  `telling QEMU crashes from failures${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let node = ''
    beforeAll(() => {
      node = arm64NodeBinary()
    }, 300_000)

    const segfault = () => [node, '-e', "process.kill(process.pid, 'SIGSEGV')"]

    it('counts a segfault of the emulated program as a crash, from its signal and QEMU message', () => {
      const [program, ...args] = emulated(segfault())
      const result = spawnSync(program, args, { encoding: 'utf8', timeout: 60_000 })
      expect(result.signal).toBe('SIGSEGV')
      expect(result.stderr).toContain('qemu: uncaught target signal 11')
      expect(qemuCrashOf({ signal: result.signal, stderr: result.stderr })).toBe('emulator died of SIGSEGV')
      expect(qemuCrashOf({ signal: null, stderr: result.stderr })).toMatch(
        /^emulator reported: qemu: uncaught/,
      )
    }, 60_000)

    it('returns a failing program as it is, without retrying it', async () => {
      const failed = await runEmulated([node, '-e', "console.error('real failure'); process.exit(3)"])
      expect(failed.status).toBe(3)
      expect(failed.stderr).toContain('real failure')
      expect(qemuCrashOf(failed)).toBeUndefined()
    }, 60_000)

    it('runs a scenario again after a crash and passes only on an attempt without one', async () => {
      const crashes: number[] = []
      const result = await retryingQemuCrashes(
        async (attempt) => {
          const run = await runEmulatedOnce(attempt === 1 ? segfault() : [node, '-p', 'process.arch'])
          const crash = qemuCrashOf(run)
          if (crash) throw new QemuCrashError(crash)
          return run.stdout.trim()
        },
        (_crash, attempt) => crashes.push(attempt),
      )
      expect(result).toBe('arm64')
      expect(crashes).toEqual([1])
    }, 90_000)

    it('never passes on a crash: every attempt crashing fails the test, naming the crashes', async () => {
      await expect(runEmulated(segfault())).rejects.toThrow(
        `QEMU crashed on each of ${qemuCrashAttempts} attempts: emulator died of SIGSEGV`,
      )
    }, 90_000)
  },
)

/** One emulated run, crash or not (the retry under test is retryingQemuCrashes itself). */
async function runEmulatedOnce(
  argv: string[],
): Promise<{ signal: string | null; stderr: string; stdout: string }> {
  const [program, ...args] = emulated(argv)
  const result = spawnSync(program, args, { encoding: 'utf8', timeout: 60_000 })
  return { signal: result.signal, stderr: result.stderr, stdout: result.stdout }
}
