import { isIPv6 } from 'node:net'

/**
 * The key a client address is limited by: an IPv4 address as is (also when IPv4-mapped, `::ffff:a.b.c.d`),
 * an IPv6 address by its /64, the smallest block one subscriber is given, so an attacker cannot dodge a
 * per-address limit by walking the 2^64 addresses of its own network.
 */
export function addressGroup(address: string | undefined): string {
  if (!address) return 'unknown'
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped) return mapped[1] as string
  if (!isIPv6(address)) return address
  const [head = '', tail = ''] = address.split('%')[0]?.split('::') ?? []
  const headParts = head ? head.split(':') : []
  const tailParts = tail ? tail.split(':') : []
  const missing = 8 - headParts.length - tailParts.length
  const parts = address.includes('::')
    ? [...headParts, ...Array<string>(Math.max(missing, 0)).fill('0'), ...tailParts]
    : headParts
  return `${parts
    .slice(0, 4)
    .map((p) => Number.parseInt(p || '0', 16).toString(16))
    .join(':')}::/64`
}
