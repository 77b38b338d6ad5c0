import type { HomeownerRole } from '../dashboard/homeowner-store.js'

/**
 * Who is asking, once authenticated: the operator (the `http.apiToken` bearer), a homeowner signed in to
 * the dashboard with a role, a device, or a read-only service user (Home Assistant, dashboards). Every
 * right in this folder is decided from one of these, never from a header or a name directly.
 */
export type Principal =
  | { readonly kind: 'operator' }
  | { readonly kind: 'homeowner'; readonly name: string; readonly role: HomeownerRole }
  | { readonly kind: 'device'; readonly deviceId: string }
  | { readonly kind: 'service'; readonly name: string }

/** The principals that log in over MQTT (the device and user registry). */
export type MqttPrincipal = Extract<Principal, { readonly kind: 'device' | 'service' }>

/** The principals of HTTP requests. */
export type HttpPrincipal = Extract<Principal, { readonly kind: 'operator' | 'homeowner' }>

export type { HomeownerRole }
