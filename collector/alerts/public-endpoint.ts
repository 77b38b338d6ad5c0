import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import type { LookupFunction } from 'node:net'
import ipaddr from 'ipaddr.js'

/**
 * True for a global unicast address: not loopback, private (RFC 1918), link-local, unique local (ULA),
 * carrier-grade NAT, multicast, reserved or documentation ranges, and not an IPv6 form that carries an
 * IPv4 address (v4-mapped, NAT64, 6to4, Teredo) unless that address is public itself.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false
  let parsed = ipaddr.parse(address)
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address()
  }
  return parsed.range() === 'unicast'
}

/** Why an endpoint is refused. */
export type EndpointProblem = 'not_https' | 'private_address' | 'unresolvable'

/**
 * What the URL alone tells: not https, or an IP-literal host that is not public. A name is judged later,
 * by its addresses.
 */
function urlProblem(parsed: URL): { host: string; problem?: 'not_https' | 'private_address' } {
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1')
  if (parsed.protocol !== 'https:') return { host, problem: 'not_https' }
  if (ipaddr.isValid(host) && !isPublicAddress(host)) return { host, problem: 'private_address' }
  return { host }
}

/** The problem of a URL whose host must be a public address, or undefined when it is one. */
export async function publicEndpointProblem(
  url: string,
  lookup: typeof dnsLookup = dnsLookup,
): Promise<EndpointProblem | undefined> {
  const { host, problem } = urlProblem(new URL(url))
  if (problem) return problem
  if (ipaddr.isValid(host)) return undefined
  const addresses = await new Promise<LookupAddress[] | undefined>((resolve) => {
    lookup(host, { all: true }, (err, found) => resolve(err ? undefined : found))
  })
  if (!addresses || addresses.length === 0) return 'unresolvable'
  return addresses.every((a) => isPublicAddress(a.address)) ? undefined : 'private_address'
}

/** An error of a connection refused because its host resolved to an address that is not public. */
export class PrivateAddressError extends Error {
  readonly code = 'EPRIVATEADDRESS'
}

/**
 * A DNS lookup for sockets that fails when any address of the name is not public: the check happens at
 * connect time, on the very addresses connected to, so a name that changes after registration (DNS
 * rebinding) is caught too.
 */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '', 0)
    const refused = addresses.find((a) => !isPublicAddress(a.address))
    if (refused || addresses.length === 0) {
      return callback(
        new PrivateAddressError(
          `${hostname} resolves to ${refused?.address ?? 'nothing'}, not a public address`,
        ),
        '',
        0,
      )
    }
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses)
    const first = addresses[0] as LookupAddress
    callback(null, first.address, first.family)
  })
}

/** What a POST answered. */
export interface PostAnswer {
  readonly status: number
}

/** How connections to public push services are kept between sends. */
export interface PublicHttpsPoolOptions {
  /** Connections open at once to one host:port. */
  readonly maxPerHost: number
  /** How long an idle connection is kept for the next send; 0 opens a new one for each. */
  readonly idleMs: number
}

/**
 * A connection pool whose every new connection goes through publicOnlyLookup. A kept connection stays
 * on the address that was checked when it was opened, so reusing it is as safe as opening a new one,
 * and a press's push skips the TCP and TLS handshakes (two or three round trips to the push service).
 */
export function publicHttpsAgent(options: PublicHttpsPoolOptions): HttpsAgent {
  return new HttpsAgent({
    keepAlive: options.idleMs > 0,
    ...(options.idleMs > 0 ? { timeout: options.idleMs } : {}),
    maxSockets: options.maxPerHost,
    // The most recently used connection first: the one least likely to have been closed by the far end.
    scheduling: 'lifo',
    lookup: publicOnlyLookup,
  })
}

/**
 * POSTs to an https URL on a public address only, with a time limit, never following a redirect (a 3xx
 * is returned as it is). An IP literal host is checked before connecting, a name at lookup. Without an
 * agent, each POST opens its own connection.
 */
export function postToPublicHttps(
  url: string,
  init: { headers: Record<string, string>; body: string | Uint8Array },
  timeoutMs: number,
  agent?: HttpsAgent,
): Promise<PostAnswer> {
  const { host, problem } = urlProblem(new URL(url))
  if (problem === 'not_https') return Promise.reject(new PrivateAddressError(`${url} is not https`))
  if (problem) return Promise.reject(new PrivateAddressError(`${host} is not a public address`))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
    const fail = (err: Error): void => {
      clearTimeout(timer)
      reject(err)
    }
    const req = httpsRequest(
      url,
      {
        method: 'POST',
        headers: { ...init.headers, 'content-length': String(Buffer.byteLength(init.body)) },
        lookup: publicOnlyLookup,
        agent: agent ?? false,
      },
      (res) => {
        res.resume()
        res.on('end', () => {
          clearTimeout(timer)
          resolve({ status: res.statusCode ?? 0 })
        })
        res.on('error', fail)
      },
    )
    req.on('error', fail)
    req.end(init.body)
  })
}
