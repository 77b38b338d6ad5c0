/** Milliseconds between two checks: short enough not to slow a test, long enough not to busy-loop. */
const pollIntervalMs = 20

/**
 * Polls check (sync or async) every 20 ms and returns its first truthy value; throws
 * `timed out after <timeoutMs> ms waiting for <what>` once timeoutMs has passed without one.
 */
export async function eventually<T>(
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value as T
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, pollIntervalMs))
  }
}
