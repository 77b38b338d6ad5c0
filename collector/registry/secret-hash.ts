import { createHash, randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto'

/**
 * Two hash formats. Homeowners choose their passwords, so those get scrypt, a slow password hash:
 * `scrypt$N$r$p$<salt b64>$<hash b64>` (OWASP's minimum N=2^14, r=8, p=1; about 30 ms each).
 *
 * Device and service-user secrets are 32 random bytes we generate (newSecret), 256 bits no dictionary
 * holds, so a slow hash buys nothing for them and costs a reconnect storm 30 ms of CPU per login (and a
 * flood of wrong guesses the whole thread pool). They get salted SHA-256, `sha256$<salt b64>$<hash b64>`:
 * about a microsecond, on the event loop. Salted SHA-256 rather than an HMAC with a per-installation key:
 * for secrets of this entropy the key adds no strength, and it would be a second file whose loss (a
 * restore of registry.json without it) locks out every device. Registry entries written before this
 * still carry scrypt hashes: they verify as before and are upgraded on their next successful login.
 */

const keyBytes = 32
const defaultParams = { N: 2 ** 14, r: 8, p: 1 } as const

function scryptAsync(secret: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, keyBytes, { ...options, maxmem: 64 * 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    )
  })
}

/** A new random device secret: 32 bytes, base64url (43 characters). */
export function newSecret(): string {
  return randomBytes(32).toString('base64url')
}

/** Hashes a chosen password (homeowners) with scrypt and a fresh salt. */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await scryptAsync(secret, salt, defaultParams)
  const { N, r, p } = defaultParams
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`
}

/** True when secret matches a scrypt hash; constant time in the hash comparison. */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false
  const [, n, r, p, saltText, hashText] = parts as [string, string, string, string, string, string]
  const expected = Buffer.from(hashText, 'base64')
  const key = await scryptAsync(secret, Buffer.from(saltText, 'base64'), {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  })
  return key.length === expected.length && timingSafeEqual(key, expected)
}

function sha256(salt: Buffer, secret: string): Buffer {
  return createHash('sha256').update(salt).update(secret, 'utf8').digest()
}

/** Hashes a generated secret (devices, service users) with salted SHA-256. */
export function hashGeneratedSecret(secret: string): string {
  const salt = randomBytes(16)
  return `sha256$${salt.toString('base64')}$${sha256(salt, secret).toString('base64')}`
}

/** The format of a stored hash: which verification it needs. */
export type SecretHashKind = 'sha256' | 'scrypt' | 'unknown'

/** The kind of a stored hash, read from its prefix. */
export function secretHashKind(stored: string): SecretHashKind {
  if (stored.startsWith('sha256$')) return 'sha256'
  if (stored.startsWith('scrypt$')) return 'scrypt'
  return 'unknown'
}

const dummySalt = randomBytes(16)
const dummyHash = sha256(dummySalt, newSecret())

/**
 * True when secret matches a `sha256$` hash. Always does one SHA-256 and one 32-byte constant-time
 * compare, also for a malformed or absent hash (pass undefined), so an unknown identity costs what a
 * known one costs.
 */
export function verifyGeneratedSecret(secret: string, stored: string | undefined): boolean {
  const parts = stored?.split('$')
  const isWellFormed = parts?.length === 3 && parts[0] === 'sha256'
  const salt = isWellFormed ? Buffer.from(parts[1] as string, 'base64') : dummySalt
  const expected = isWellFormed ? Buffer.from(parts[2] as string, 'base64') : dummyHash
  const key = sha256(salt, secret)
  const isEqual = timingSafeEqual(key, expected.length === key.length ? expected : dummyHash)
  return isWellFormed && expected.length === key.length && isEqual
}
