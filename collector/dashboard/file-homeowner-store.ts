import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { JsonFileWriter, readJsonFile } from '../json-file.js'
import type { HomeownerStore, StoredHomeowner } from './homeowner-store.js'

/**
 * Dashboard accounts in `<dataDir>/dashboard/homeowners.json`. `doorbell-admin homeowners` changes the
 * file while the collector runs, so every call reads it again, from a copy kept while its mtime and size
 * stay the same (each request checks its session's account).
 */
export class FileHomeownerStore implements HomeownerStore {
  readonly #writer: JsonFileWriter
  #cache: { mtimeMs: number; size: number; items: StoredHomeowner[] } | undefined
  /** Changes of this process run one after the other, each on the file the previous one wrote. */
  #changes: Promise<unknown> = Promise.resolve()

  constructor(dataDir: string) {
    this.#writer = new JsonFileWriter(join(dataDir, 'dashboard', 'homeowners.json'))
  }

  async get(name: string): Promise<StoredHomeowner | undefined> {
    return (await this.#read()).find((h) => h.name === name)
  }

  async list(): Promise<StoredHomeowner[]> {
    return [...(await this.#read())]
  }

  add(account: StoredHomeowner): Promise<boolean> {
    return this.#change((items) =>
      items.some((h) => h.name === account.name) ? undefined : [...items, account],
    )
  }

  replace(account: StoredHomeowner): Promise<boolean> {
    return this.#change((items) =>
      items.some((h) => h.name === account.name)
        ? items.map((h) => (h.name === account.name ? account : h))
        : undefined,
    )
  }

  remove(name: string): Promise<boolean> {
    return this.#change((items) =>
      items.some((h) => h.name === name) ? items.filter((h) => h.name !== name) : undefined,
    )
  }

  /** Applies a change to the accounts as the file holds them now; false when it changed nothing. */
  #change(apply: (items: readonly StoredHomeowner[]) => StoredHomeowner[] | undefined): Promise<boolean> {
    const next = this.#changes.then(async () => {
      const items = apply(await this.#read())
      if (!items) return false
      this.#cache = undefined
      await this.#writer.write({ homeowners: items })
      return true
    })
    this.#changes = next.catch(() => undefined)
    return next
  }

  async #read(): Promise<StoredHomeowner[]> {
    let info: { mtimeMs: number; size: number }
    try {
      info = await stat(this.#writer.path)
    } catch {
      return []
    }
    if (!this.#cache || this.#cache.mtimeMs !== info.mtimeMs || this.#cache.size !== info.size) {
      const file = await readJsonFile<{ homeowners: StoredHomeowner[] }>(this.#writer.path, {
        homeowners: [],
      })
      this.#cache = { mtimeMs: info.mtimeMs, size: info.size, items: file.homeowners }
    }
    return this.#cache.items
  }
}
