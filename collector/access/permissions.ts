import type { HttpPrincipal } from './principal.js'

/**
 * What an HTTP request may need. Reads of media, device health and statistics are personal data, so even
 * these need a principal; `public` routes (health check, login, the app's files) need none.
 */
export type Permission =
  | 'media:read'
  | 'health:read'
  | 'stats:read'
  | 'dead-letters:read'
  | 'push-subscriptions:write'
  | 'events:read'
  | 'settings:read'
  | 'settings:write'
  | 'session:end'
  | 'metrics:read'
  | 'api-docs:read'
  | 'live:watch'

/** What a route needs: a permission, or nothing at all. */
export type RouteRule = Permission | 'public'

/** The operator (bearer token) reads media and the alerts API; the dashboard's own API needs a login. */
const operatorGrants: readonly Permission[] = [
  'metrics:read',
  'api-docs:read',
  'media:read',
  'health:read',
  'stats:read',
  'dead-letters:read',
  'push-subscriptions:write',
]
/** A viewer reads everything a household sees and manages only its own push subscriptions. */
const viewerGrants: readonly Permission[] = [
  'api-docs:read',
  'media:read',
  'health:read',
  'stats:read',
  'push-subscriptions:write',
  'events:read',
  'settings:read',
  'session:end',
  // Watching a live view; who may start one and talk is the live config's (live.startRole, live.talkRole).
  'live:watch',
]
/** An owner also changes settings and reads the dead letters. */
const ownerGrants: readonly Permission[] = [...viewerGrants, 'dead-letters:read', 'settings:write']

const grants = {
  operator: new Set(operatorGrants),
  viewer: new Set(viewerGrants),
  owner: new Set(ownerGrants),
} as const

/** True when the principal holds the permission; nobody holds one without a principal. */
export function isGranted(principal: HttpPrincipal | undefined, permission: Permission): boolean {
  if (!principal) return false
  const held = principal.kind === 'operator' ? grants.operator : grants[principal.role]
  return held.has(permission)
}

/** True when the operator holds the permission: a refusal then asks for the bearer token (401 Bearer). */
export function isOperatorPermission(permission: Permission): boolean {
  return grants.operator.has(permission)
}

/**
 * True when the principal may act for the homeowner `user` (their push subscriptions): the operator for
 * anyone, a homeowner only for themselves.
 */
export function mayActFor(principal: HttpPrincipal | undefined, user: string): boolean {
  if (!principal) return false
  return principal.kind === 'operator' || principal.name === user
}
