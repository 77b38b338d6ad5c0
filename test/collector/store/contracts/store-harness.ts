import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * How a contract suite gets stores of one implementation. Nothing in a suite knows how a store keeps its
 * data, so a new engine runs the same suite with its own harness.
 */
export interface StoreHarness<T> {
  /** A new, empty store. */
  create(): Promise<T>
  /** A new store over the data of the store create() returned last (for a file: the same path). */
  reopen?(): Promise<T>
  /** Releases whatever the harness holds (folders, databases), once the suite is done. */
  close?(): Promise<void>
}

/**
 * A harness for stores kept in a folder: each create() opens a store in a new folder under one temp
 * folder, reopen() opens another store over the last folder, close() removes it all.
 */
export function folderHarness<T>(prefix: string, open: (folder: string) => T | Promise<T>): StoreHarness<T> {
  const root = mkdtempSync(join(tmpdir(), `${prefix}-`))
  let made = 0
  let current = ''
  return {
    async create() {
      made += 1
      current = join(root, String(made))
      return open(current)
    },
    async reopen() {
      return open(current)
    },
    async close() {
      rmSync(root, { recursive: true, force: true })
    },
  }
}
