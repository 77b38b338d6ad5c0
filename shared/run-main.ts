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
