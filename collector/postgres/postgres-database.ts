import pg from 'pg'
import { DoorbellError } from '../../shared/errors.js'

/** Where and how to connect: the `postgres` section of the collector config. */
export interface PostgresConnectOptions {
  readonly url: string
  readonly maxConnections: number
  readonly connectTimeoutMs: number
  readonly statementTimeoutMs: number
  /** Shown in pg_stat_activity, so an operator sees which node holds which connection. */
  readonly applicationName?: string
}

/** The URL without its password, for messages and logs. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(unparsable URL)'
  }
}

/** One statement with its parameters; a name makes each pooled connection prepare it once. */
export interface Statement {
  readonly name?: string
  readonly text: string
  readonly values: unknown[]
}

/** One node's pool of PostgreSQL connections, shared by every PostgreSQL store of that node. */
export class PostgresDatabase {
  readonly pool: pg.Pool
  readonly #url: string
  readonly #onError: (err: Error) => void
  #isClosed = false

  private constructor(pool: pg.Pool, url: string, onError: (err: Error) => void) {
    this.pool = pool
    this.#url = url
    this.#onError = onError
  }

  /**
   * Opens the pool and checks one connection; POSTGRES_UNAVAILABLE names the URL (without its password)
   * when the server cannot be reached. onError hears errors of idle connections (a server restart), which
   * would otherwise end the process; the pool replaces those connections by itself.
   */
  static async open(
    options: PostgresConnectOptions,
    onError: (err: Error) => void,
  ): Promise<PostgresDatabase> {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.maxConnections,
      connectionTimeoutMillis: options.connectTimeoutMs,
      statement_timeout: options.statementTimeoutMs,
      application_name: options.applicationName ?? 'doorbell-collector',
    })
    pool.on('error', onError)
    try {
      const client = await pool.connect()
      client.release()
    } catch (err) {
      await pool.end().catch(() => {})
      throw unavailable(options.url, err)
    }
    return new PostgresDatabase(pool, options.url, onError)
  }

  /** False once close() was called. */
  get isOpen(): boolean {
    return !this.#isClosed
  }

  /** Runs fn in one transaction on one connection: COMMIT when it resolves, ROLLBACK when it throws. */
  async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#connect()
    // A checked-out connection that the server ends (a restart, a terminated backend) emits 'error' while
    // no query is running; unheard, that event would end the process.
    client.on('error', this.#onError)
    try {
      await client.query('BEGIN')
      const result = await fn(client)
      await client.query('COMMIT')
      return result
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {})
      throw asStoreError(this.#url, err)
    } finally {
      client.off('error', this.#onError)
      client.release()
    }
  }

  /**
   * Runs statements as one transaction. A single statement runs alone, without BEGIN and COMMIT: it is
   * atomic by itself and, with synchronous_commit on, durable when it returns, and it costs one round
   * trip instead of three (most group commits of readings are one INSERT).
   */
  async runAtomically(statements: readonly Statement[]): Promise<void> {
    if (statements.length === 0) return
    if (statements.length === 1) {
      const client = await this.#connect()
      client.on('error', this.#onError)
      try {
        await client.query(statements[0] as Statement)
      } catch (err) {
        throw asStoreError(this.#url, err)
      } finally {
        client.off('error', this.#onError)
        client.release()
      }
      return
    }
    await this.transaction(async (client) => {
      for (const statement of statements) await client.query(statement)
    })
  }

  /** One statement on any pooled connection. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: readonly unknown[],
  ): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, values as unknown[])
    } catch (err) {
      throw asStoreError(this.#url, err)
    }
  }

  async #connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect()
    } catch (err) {
      throw unavailable(this.#url, err)
    }
  }

  async close(): Promise<void> {
    if (this.#isClosed) return
    this.#isClosed = true
    await this.pool.end()
  }
}

function unavailable(url: string, err: unknown): DoorbellError {
  return new DoorbellError('POSTGRES_UNAVAILABLE', `${redactedUrl(url)}: ${(err as Error).message}`, {
    cause: err,
  })
}

/**
 * A failed statement as a catalogue error: no connection (or one cut) is POSTGRES_UNAVAILABLE, anything
 * else STORE_WRITE_FAILED; either way the caller nacks with retry and nothing already stored is lost.
 */
export function asStoreError(url: string, err: unknown): DoorbellError {
  if (err instanceof DoorbellError) return err
  const code = (err as { code?: unknown }).code
  // SQLSTATE class 08 is "connection exception", 57P0x "operator intervention" (a shutdown).
  const isUnreachable =
    typeof code === 'string' &&
    (/^(08|57P0)/.test(code) || /^E(CONNREFUSED|CONNRESET|PIPE|TIMEDOUT)$/.test(code))
  if (isUnreachable) return unavailable(url, err)
  return new DoorbellError('STORE_WRITE_FAILED', (err as Error).message, { cause: err })
}
