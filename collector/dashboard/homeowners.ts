import { DoorbellError } from '../../shared/errors.js'
import { hashSecret, verifySecret } from '../registry/secret-hash.js'
import type { Homeowner, HomeownerRole, HomeownerStore, StoredHomeowner } from './homeowner-store.js'

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
 * Dashboard accounts with their rules, over any HomeownerStore: names of a-z 0-9 _ -, passwords of 10 to
 * 256 characters kept as scrypt hashes (as the device registry keeps secrets), and a login check that
 * costs a hash whether or not the name exists.
 */
export class Homeowners {
  readonly #store: HomeownerStore

  constructor(store: HomeownerStore) {
    this.#store = store
  }

  /** Role and password age of an account: each request checks its session's account against them. */
  async standing(name: string): Promise<HomeownerStanding | undefined> {
    const found = await this.#store.get(name)
    if (!found) return undefined
    return { role: found.role, passwordChangedAtMs: Date.parse(found.passwordChangedAt ?? found.createdAt) }
  }

  /** All accounts, without hashes. */
  async list(): Promise<Homeowner[]> {
    return (await this.#store.list()).map(listed)
  }

  /** Adds an account; the name must be new and the password long enough. */
  async add(name: string, password: string, role: HomeownerRole, nowMs = Date.now()): Promise<Homeowner> {
    if (!namePattern.test(name)) throw new DoorbellError('USAGE', `bad homeowner name ${name}: a-z 0-9 _ -`)
    checkPassword(password)
    const account: StoredHomeowner = {
      name,
      role,
      createdAt: new Date(nowMs).toISOString(),
      passwordHash: await hashSecret(password),
    }
    if (!(await this.#store.add(account))) throw new DoorbellError('USAGE', `homeowner ${name} exists`)
    return listed(account)
  }

  /** Removes an account; true when it existed. */
  remove(name: string): Promise<boolean> {
    return this.#store.remove(name)
  }

  /** Sets a new password (which voids the account's sessions) and, when given, a new role. */
  async update(
    name: string,
    change: { password?: string; role?: HomeownerRole },
    nowMs = Date.now(),
  ): Promise<void> {
    const current = await this.#store.get(name)
    if (!current) throw new DoorbellError('USAGE', `no homeowner ${name}`)
    if (change.password !== undefined) checkPassword(change.password)
    const next: StoredHomeowner = {
      ...current,
      ...(change.role ? { role: change.role } : {}),
      ...(change.password !== undefined
        ? {
            passwordHash: await hashSecret(change.password),
            passwordChangedAt: new Date(nowMs).toISOString(),
          }
        : {}),
    }
    if (!(await this.#store.replace(next))) throw new DoorbellError('USAGE', `no homeowner ${name}`)
  }

  /** The account when name and password match; a missing name costs a hash too (no timing oracle). */
  async verify(name: string, password: string): Promise<Homeowner | undefined> {
    const found = await this.#store.get(name)
    dummyHash ??= hashSecret('not-a-real-password')
    const isMatch = await verifySecret(password, found?.passwordHash ?? (await dummyHash))
    return found && isMatch ? listed(found) : undefined
  }
}

let dummyHash: Promise<string> | undefined

function listed({ name, role, createdAt }: StoredHomeowner): Homeowner {
  return { name, role, createdAt }
}

function checkPassword(password: string): void {
  if (password.length < minPasswordLength || password.length > 256) {
    throw new DoorbellError('USAGE', `a password has ${minPasswordLength} to 256 characters`)
  }
}
