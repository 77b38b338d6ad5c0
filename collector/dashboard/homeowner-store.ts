/** A homeowner's role: an owner changes settings, a viewer only reads. */
export type HomeownerRole = 'owner' | 'viewer'

/** A homeowner account as listed (never the hash). */
export interface Homeowner {
  readonly name: string
  readonly role: HomeownerRole
  readonly createdAt: string
}

/** A homeowner account as stored. */
export interface StoredHomeowner extends Homeowner {
  /** scrypt hash of the password (collector/registry/secret-hash.ts). */
  readonly passwordHash: string
  /** Sessions started before this (ISO) are void: a new password logs out every browser. */
  readonly passwordChangedAt?: string
}

/**
 * Where dashboard accounts are kept, by name; the rules (names, password length, hashing) are in
 * homeowners.ts. Every implementation passes test/collector/store/contracts/homeowner-store.contract.ts.
 */
export interface HomeownerStore {
  /** One account, or undefined. */
  get(name: string): Promise<StoredHomeowner | undefined>
  /** Every account, in the order they were added. */
  list(): Promise<StoredHomeowner[]>
  /** Adds an account; false, changing nothing, when the name is taken. */
  add(account: StoredHomeowner): Promise<boolean>
  /** Replaces the account of the same name; false, changing nothing, when there is none. */
  replace(account: StoredHomeowner): Promise<boolean>
  /** Removes an account; true when it existed. */
  remove(name: string): Promise<boolean>
}
