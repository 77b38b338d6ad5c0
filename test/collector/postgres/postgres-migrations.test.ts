import { readdirSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { PostgresDatabase } from '../../../collector/postgres/postgres-database.js'
import {
  migratePostgres,
  migrationsDir,
  migrationsTable,
} from '../../../collector/postgres/postgres-migrations.js'
import { usePostgresSuite } from './postgres-suite.js'

describe('PostgreSQL migrations', () => {
  const suite = usePostgresSuite()

  it('applies each numbered migration once when three nodes start together, and nothing the next time', async () => {
    const url = await suite.engine.createDatabase('migrate_race')
    const runs = await Promise.all([migratePostgres(url), migratePostgres(url), migratePostgres(url)])
    const files = readdirSync(migrationsDir()).filter((name) => name.endsWith('.sql'))
    expect(files.length).toBeGreaterThan(0)
    expect(runs.flat().sort()).toEqual(files.map((name) => name.replace(/\.sql$/, '')).sort())
    expect(await migratePostgres(url)).toEqual([])
    const db = await suite.connect(url)
    const rows = await db.query<{ name: string }>(`SELECT name FROM ${migrationsTable} ORDER BY run_on, id`)
    expect(rows.rows.map((row) => row.name)).toEqual(files.map((name) => name.replace(/\.sql$/, '')))
  })

  it('says which server it could not reach, without the password', async () => {
    const url = `postgres://doorbell:hunter2@127.0.0.1:1/nowhere`
    await expect(migratePostgres(url)).rejects.toMatchObject({ code: 'POSTGRES_MIGRATION_FAILED' })
    const opening = PostgresDatabase.open(
      { url, maxConnections: 2, connectTimeoutMs: 500, statementTimeoutMs: 1000 },
      () => {},
    )
    await expect(opening).rejects.toMatchObject({ code: 'POSTGRES_UNAVAILABLE' })
    await expect(opening).rejects.toThrow(/127\.0\.0\.1:1\/nowhere/)
    await expect(opening).rejects.not.toThrow(/hunter2/)
  })
})
