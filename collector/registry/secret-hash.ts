import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto'

/**
 * Secrets are stored as `scrypt$N$r$p$<salt b64>$<hash b64>`; only the hash is kept, the secret is shown
 * once. Parameters follow OWASP's scrypt minimum (N=2^15 is slower than needed for random 32-byte secrets,
 * which cannot be guessed; N=2^14 keeps a reconnect storm of many devices cheap).
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

/** Hashes a secret with a fresh salt. */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await scryptAsync(secret, salt, defaultParams)
  const { N, r, p } = defaultParams
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`
}

/** True when secret matches the stored hash; constant time in the hash comparison. */
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
