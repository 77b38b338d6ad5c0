import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { DoorbellError, formatForUser } from './errors.js'

/** Exit code for a failed start: 2 for bad command-line usage, 1 for everything else (bad config too). */
export function exitCodeFor(err: unknown): number {
  return err instanceof DoorbellError && err.code === 'USAGE' ? 2 : 1
}

/**
 * Runs a program's main. A number it resolves with becomes the exit code; a failure is printed for a
 * person (code, message, fix) and ends the process at once, so nothing half-started keeps it alive.
 */
export function runMain(main: () => Promise<unknown>): void {
  main().then(
    (code) => {
      if (typeof code === 'number') process.exitCode = code
    },
    (err: unknown) => {
      process.stderr.write(`${formatForUser(err)}\n`)
      process.exit(exitCodeFor(err))
    },
  )
}

/**
 * True when the module at moduleUrl is the program node was started with (`node dist/collector/main.js`,
 * or an npm bin link to it), so a main.ts that also exports its composition runs only as a program.
 */
export function isEntryPoint(moduleUrl: string): boolean {
  const entry = process.argv[1]
  if (!entry) return false
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(moduleUrl))
  } catch {
    return false
  }
}
