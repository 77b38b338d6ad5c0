import { readFile } from 'node:fs/promises'
import type { z } from 'zod'
import { DoorbellError, type ErrorCode } from '../shared/errors.js'
import { writeFileAtomic } from '../shared/files/atomic-file.js'

/** Reads a JSON file, or the fallback when it does not exist yet. */
export async function readJsonFile<T>(path: string, fallback: T): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return fallback
    throw err
  }
}

/**
 * Reads a state file checked against its schema: the value, none when the file does not exist yet, or an
 * error with the given code when it cannot be read or parsed (the caller ignores the file and goes on).
 */
export async function readCheckedJsonFile<T>(
  path: string,
  schema: z.ZodType<T>,
  code: ErrorCode,
): Promise<{ readonly value?: T; readonly err?: DoorbellError }> {
  try {
    const value = await readJsonFile<unknown>(path, undefined)
    return value === undefined ? {} : { value: schema.parse(value) }
  } catch (err) {
    return { err: new DoorbellError(code, path, { cause: err }) }
  }
}

/**
 * Writes a JSON file atomically and durably (shared/files/atomic-file.ts), mode 0600: such files hold
 * hashes and settings.
 */
export function writeJsonFile(path: string, value: unknown): Promise<void> {
  return writeFileAtomic(path, jsonText(value), { mode: 0o600 })
}

/**
 * Writes one JSON file, one write after the other, so a later state never lands before an earlier one
 * (each atomic write has its own temp file, and concurrent renames would race). The value is serialized
 * when write() is called, so a caller may change its objects afterwards.
 */
export class JsonFileWriter {
  readonly path: string
  #last: Promise<void> = Promise.resolve()

  constructor(path: string) {
    this.path = path
  }

  /** Queues a write of value as it is now; resolves or rejects with that write. */
  write(value: unknown): Promise<void> {
    const text = jsonText(value)
    const next = this.#last.then(() => writeFileAtomic(this.path, text, { mode: 0o600 }))
    this.#last = next.catch(() => undefined)
    return next
  }
}

function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`
}

/**
 * A value kept in one JSON file: read once, then held in memory, and rewritten atomically on each change.
 * Changes run one after the other, each on the value the previous one left, so concurrent changes are
 * never lost.
 */
export class JsonFileState<T> {
  readonly #writer: JsonFileWriter
  readonly #fromFile: (file: unknown) => T
  readonly #toFile: (value: T) => unknown
  #value: Promise<T> | undefined
  #changes: Promise<unknown> = Promise.resolve()

  /** fromFile gets the parsed file, or undefined when there is none yet. */
  constructor(path: string, codec: { fromFile: (file: unknown) => T; toFile: (value: T) => unknown }) {
    this.#writer = new JsonFileWriter(path)
    this.#fromFile = codec.fromFile
    this.#toFile = codec.toFile
  }

  /** The current value (as of the last change that finished). */
  read(): Promise<T> {
    this.#value ??= readJsonFile<unknown>(this.#writer.path, undefined).then(this.#fromFile)
    return this.#value
  }

  /**
   * Applies a change and writes the result; a change that returns undefined writes nothing. Resolves
   * with the value before and after once written.
   */
  change(apply: (current: T) => T | undefined): Promise<{ before: T; after: T }> {
    const next = this.#changes.then(async () => {
      const before = await this.read()
      const after = apply(before)
      if (after === undefined) return { before, after: before }
      await this.#writer.write(this.#toFile(after))
      this.#value = Promise.resolve(after)
      return { before, after }
    })
    this.#changes = next.catch(() => undefined)
    return next
  }
}
