import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { z } from 'zod'
import { DoorbellError, type ErrorCode } from '../shared/errors.js'

/** Reads a JSON file, or the fallback when it does not exist yet. */
export function readJsonFile<T>(path: string, fallback: T): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return fallback
    throw err
  }
}

/**
 * Reads a state file checked against its schema: the value, none when the file does not exist yet, or an
 * error with the given code when it cannot be read or parsed (the caller ignores the file and goes on).
 */
export function readCheckedJsonFile<T>(
  path: string,
  schema: z.ZodType<T>,
  code: ErrorCode,
): { readonly value?: T; readonly err?: DoorbellError } {
  try {
    const value = readJsonFile<unknown>(path, undefined)
    return value === undefined ? {} : { value: schema.parse(value) }
  } catch (err) {
    return { err: new DoorbellError(code, path, { cause: err }) }
  }
}

/** Writes a JSON file atomically (temp file + rename), mode 0600: such files hold hashes and settings. */
export function writeJsonFile(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true })
  const temp = `${path}.${process.pid}.tmp`
  writeFileSync(temp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 })
  renameSync(temp, path)
}
