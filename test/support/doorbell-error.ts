import { DoorbellError } from '../../shared/errors.js'

/** The DoorbellError that fn threw (a config or protocol rejection); fails when it threw none. */
export function thrownDoorbellError(fn: () => unknown): DoorbellError {
  try {
    fn()
  } catch (err) {
    if (err instanceof DoorbellError) return err
    throw err
  }
  throw new Error('expected a DoorbellError, nothing was thrown')
}
