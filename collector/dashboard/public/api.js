// Small fetch wrapper: JSON in and out, the CSRF token on unsafe requests, and a typed error.
let csrfToken = ''

/** Remembers the session's CSRF token (from login or GET /api/session). */
export function setCsrfToken(token) {
  csrfToken = token ?? ''
}

/** An HTTP error with its status and, when the server gave one, its error code (shared/errors.ts). */
export class ApiError extends Error {
  constructor(status, message, code) {
    super(message)
    this.status = status
    this.code = code
  }
}

/** Calls the API; rejects with ApiError on a non-2xx answer. */
export async function api(path, { method = 'GET', body } = {}) {
  const headers = {}
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  })
  if (res.status === 204) return null
  const data = await res.json().catch(() => ({}))
  if (!res.ok) throw new ApiError(res.status, data.error ?? res.statusText, data.code)
  return data
}

/** Escapes text for HTML. */
export function esc(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
