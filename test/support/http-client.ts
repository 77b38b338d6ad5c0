import { request } from 'node:http'

/** What one HTTP request answered. */
export interface HttpAnswer {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: string
}

/** Options of one request over a real socket. */
export interface HttpRequestOptions {
  readonly method?: string
  readonly headers?: Record<string, string>
  readonly body?: unknown
  /** Source address of the socket (any of 127.0.0.0/8 on Linux), to act as different clients. */
  readonly localAddress?: string
}

/** One HTTP request to 127.0.0.1:port over a fresh socket; a JSON body is sent with its content type. */
export function httpRequest(
  port: number,
  path: string,
  options: HttpRequestOptions = {},
): Promise<HttpAnswer> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body)
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? (body === undefined ? 'GET' : 'POST'),
        agent: false,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...options.headers,
        },
      },
      (res) => {
        const parts: Buffer[] = []
        res.on('data', (part: Buffer) => parts.push(part))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(parts).toString('utf8'),
          }),
        )
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** Logs in over HTTP; the session cookie and CSRF token, or the status when refused. */
export async function httpLogin(
  port: number,
  name: string,
  password: string,
  options: Omit<HttpRequestOptions, 'body'> = {},
): Promise<{ status: number; cookie: string; csrf: string }> {
  const answer = await httpRequest(port, '/api/login', { ...options, body: { name, password } })
  if (answer.status !== 200) return { status: answer.status, cookie: '', csrf: '' }
  const setCookie = answer.headers['set-cookie']
  const cookie = (Array.isArray(setCookie) ? setCookie[0] : setCookie)?.split(';')[0] ?? ''
  return { status: 200, cookie, csrf: (JSON.parse(answer.body) as { csrfToken: string }).csrfToken }
}

/** Something that answers injected requests: a fastify app (no socket). */
interface Injectable {
  inject(options: { method: 'POST'; url: string; payload: unknown }): PromiseLike<{
    statusCode: number
    headers: Record<string, unknown>
    json<T>(): T
  }>
}

/** Logs a homeowner in through app.inject; the session cookie and CSRF token (empty on a refusal). */
export async function injectLogin(
  app: Injectable,
  name: string,
  password: string,
): Promise<{ status: number; cookie: string; csrf: string }> {
  const answer = await app.inject({ method: 'POST', url: '/api/login', payload: { name, password } })
  if (answer.statusCode !== 200) return { status: answer.statusCode, cookie: '', csrf: '' }
  const cookie = String(answer.headers['set-cookie']).split(';')[0] ?? ''
  return { status: 200, cookie, csrf: answer.json<{ csrfToken: string }>().csrfToken }
}
