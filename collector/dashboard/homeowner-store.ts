import { statSync } from 'node:fs'
import { join } from 'node:path'
import { DoorbellError } from '../../shared/errors.js'
import { readJsonFile, writeJsonFile } from '../json-file.js'
import { hashSecret, verifySecret } from '../registry/secret-hash.js'

/** A homeowner's role: an owner changes settings, a viewer only reads. */
export type HomeownerRole = 'owner' | 'viewer'

/** A homeowner account as listed (never the hash). */
export interface Homeowner {
  readonly name: string
  readonly role: HomeownerRole
  readonly createdAt: string
}

interface StoredHomeowner extends Homeowner {
  readonly passwordHash: string
  /** Sessions started before this (ISO) are void: a new password logs out every browser. */
  readonly passwordChangedAt?: string
}

/** What the session check needs to know about an account. */
export interface HomeownerStanding {
  readonly role: HomeownerRole
  /** ms since the epoch of the last password change (or creation). */
  readonly passwordChangedAtMs: number
}

const namePattern = /^[a-z0-9][a-z0-9_-]{0,31}$/
/** Shortest accepted password; homeowners choose them, so length is the one rule we enforce. */
export const minPasswordLength = 10

/**
 * Dashboard accounts in `<dataDir>/dashboard/homeowners.json` (issue 6): scrypt hashes as the device
 * registry keeps them. Re-read on each call so `doorbell-admin homeowners` works while the collector runs.
 */
export class FileHomeownerStore {
  readonly #path: string
  #cache: { mtimeMs: number; size: number; items: StoredHomeowner[] } | undefined

  constructor(dataDir: string) {
    this.#path = join(dataDir, 'dashboard', 'homeowners.json')
  }

  /**
   * Role and password age of an account, from a copy re-read when the file changes (mtime or size), so
   * each request can check that its session's user still exists with that role.
   */
  standing(name: string): HomeownerStanding | undefined {
    let stat: { mtimeMs: number; size: number }
    try {
      stat = statSync(this.#path)
    } catch {
      return undefined
    }
    if (!this.#cache || this.#cache.mtimeMs !== stat.mtimeMs || this.#cache.size !== stat.size) {
      this.#cache = { mtimeMs: stat.mtimeMs, size: stat.size, items: this.#read() }
    }
    const found = this.#cache.items.find((h) => h.name === name)
    if (!found) return undefined
    return { role: found.role, passwordChangedAtMs: Date.parse(found.passwordChangedAt ?? found.createdAt) }
  }

  #read(): StoredHomeowner[] {
    return readJsonFile<{ homeowners: StoredHomeowner[] }>(this.#path, { homeowners: [] }).homeowners
  }

  /** All accounts, without hashes. */
  list(): Homeowner[] {
    return this.#read().map(({ name, role, createdAt }) => ({ name, role, createdAt }))
  }

  /** Adds an account; the name must be new and the password long enough. */
  async add(name: string, password: string, role: HomeownerRole, nowMs = Date.now()): Promise<Homeowner> {
    if (!namePattern.test(name)) throw new DoorbellError('USAGE', `bad homeowner name ${name}: a-z 0-9 _ -`)
    checkPassword(password)
    const items = this.#read()
    if (items.some((h) => h.name === name)) throw new DoorbellError('USAGE', `homeowner ${name} exists`)
    const entry = {
      name,
      role,
      createdAt: new Date(nowMs).toISOString(),
      passwordHash: await hashSecret(password),
    }
    writeJsonFile(this.#path, { homeowners: [...items, entry] })
    return { name, role, createdAt: entry.createdAt }
  }

  /** Removes an account; true when it existed. */
  remove(name: string): boolean {
    const items = this.#read()
    const kept = items.filter((h) => h.name !== name)
    if (kept.length === items.length) return false
    writeJsonFile(this.#path, { homeowners: kept })
    return true
  }

  /** Sets a new password and, when given, a new role. */
  async update(
    name: string,
    change: { password?: string; role?: HomeownerRole },
    nowMs = Date.now(),
  ): Promise<void> {
    const items = this.#read()
    const index = items.findIndex((h) => h.name === name)
    const current = items[index]
    if (!current) throw new DoorbellError('USAGE', `no homeowner ${name}`)
    if (change.password !== undefined) checkPassword(change.password)
    items[index] = {
      ...current,
      ...(change.role ? { role: change.role } : {}),
      ...(change.password !== undefined
        ? {
            passwordHash: await hashSecret(change.password),
            passwordChangedAt: new Date(nowMs).toISOString(),
          }
        : {}),
    }
    writeJsonFile(this.#path, { homeowners: items })
  }

  /** The account when name and password match; a missing name costs a hash too (no timing oracle). */
  async verify(name: string, password: string): Promise<Homeowner | undefined> {
    const found = this.#read().find((h) => h.name === name)
    dummyHash ??= hashSecret('not-a-real-password')
    const isMatch = await verifySecret(password, found?.passwordHash ?? (await dummyHash))
    return found && isMatch ? { name: found.name, role: found.role, createdAt: found.createdAt } : undefined
  }
}

let dummyHash: Promise<string> | undefined

function checkPassword(password: string): void {
  if (password.length < minPasswordLength || password.length > 256) {
    throw new DoorbellError('USAGE', `a password has ${minPasswordLength} to 256 characters`)
  }
}
