import { afterAll, beforeAll } from 'vitest'
import { type PostgresEngine, startPostgres } from '../../../bench/engines/postgres-engine.js'
import { PostgresDatabase } from '../../../collector/postgres/postgres-database.js'
import { migratePostgres } from '../../../collector/postgres/postgres-migrations.js'
import type { StoreHarness } from '../store/contracts/store-harness.js'

/** A PostgreSQL server for one test file, with the schema migrated once into a template database. */
export interface PostgresSuite {
  readonly engine: PostgresEngine
  /** A new database copied from the migrated template (milliseconds), and its URL. */
  freshDatabase(): Promise<string>
  /** A pool on url, as one collector node opens it; closed with the suite. */
  connect(url: string, maxConnections?: number): Promise<PostgresDatabase>
}

/** Starts PostgreSQL before the file's tests and stops it after them (call at the top of a describe). */
export function usePostgresSuite(): PostgresSuite {
  let engine: PostgresEngine | undefined
  let count = 0
  const opened: PostgresDatabase[] = []
  beforeAll(async () => {
    engine = await startPostgres()
    await engine.createTemplate('doorbell_template', async (url) => {
      await migratePostgres(url)
    })
  }, 60_000)
  afterAll(async () => {
    await Promise.all(opened.map((db) => db.close()))
    await engine?.close()
  })
  return {
    get engine() {
      if (!engine) throw new Error('PostgreSQL is not started yet (use it inside a test or hook)')
      return engine
    },
    freshDatabase() {
      count += 1
      return this.engine.createDatabase(`doorbell_test_${count}`, 'doorbell_template')
    },
    async connect(url, maxConnections = 5) {
      const db = await PostgresDatabase.open(
        { url, maxConnections, connectTimeoutMs: 2000, statementTimeoutMs: 10_000 },
        () => {},
      )
      opened.push(db)
      return db
    },
  }
}

/**
 * A contract-suite harness over PostgreSQL: create() opens a store on a fresh database, reopen() another
 * on the same database through a new pool (as another node, or a restarted one, opens it).
 */
export function databaseHarness<T>(
  suite: PostgresSuite,
  open: (url: string, db: PostgresDatabase) => T | Promise<T>,
  close?: () => Promise<void>,
): StoreHarness<T> {
  let url = ''
  return {
    async create() {
      url = await suite.freshDatabase()
      return open(url, await suite.connect(url))
    },
    async reopen() {
      return open(url, await suite.connect(url))
    },
    ...(close ? { close } : {}),
  }
}
