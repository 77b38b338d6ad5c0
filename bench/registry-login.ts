import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PostgresDatabase } from '../collector/postgres/postgres-database.js'
import { PostgresIdentityRegistry } from '../collector/postgres/postgres-identity-registry.js'
import { migratePostgres } from '../collector/postgres/postgres-migrations.js'
import { FileIdentityRegistry } from '../collector/registry/file-identity-registry.js'
import type { IdentityRegistry } from '../collector/registry/identity-registry.js'
import { insertRegistryRows, newDeviceSecrets, writeRegistryFile } from './bench-registry.js'
import { startPostgres } from './engines/postgres-engine.js'
import { median } from './stats.js'

/**
 * What one MQTT login costs the registry (authenticate: the lookup and the keyed fast hash), for the file
 * registry of the embedded default and the PostgreSQL registry of a fleet, in one run: µs per login over
 * BENCH_LOGINS logins of BENCH_REGISTRY_DEVICES registered devices, median of BENCH_RUNS passes; and the
 * heap a node's in-memory copy of the registry takes per device (`node --expose-gc`).
 */

const deviceCount = Number(process.env.BENCH_REGISTRY_DEVICES ?? 10_000)
const logins = Number(process.env.BENCH_LOGINS ?? 50_000)
const runs = Number(process.env.BENCH_RUNS ?? 5)

async function usPerLogin(registry: IdentityRegistry, secrets: Map<string, string>): Promise<number> {
  const entries = [...secrets]
  const passes: number[] = []
  for (let run = 0; run < runs; run++) {
    const startNs = process.hrtime.bigint()
    for (let i = 0; i < logins; i++) {
      const [id, secret] = entries[i % entries.length] as [string, string]
      if (!(await registry.authenticate(id, secret))) throw new Error(`${id} refused`)
    }
    passes.push(Number(process.hrtime.bigint() - startNs) / 1000 / logins)
  }
  return median(passes)
}

/** Heap in use after a full collection; NaN unless node runs with --expose-gc. */
function heapUsedBytes(): number {
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) return Number.NaN
  gc()
  return process.memoryUsage().heapUsed
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-registry-login-'))
  const postgres = await startPostgres()
  try {
    const secrets = newDeviceSecrets('login', deviceCount)
    writeRegistryFile(dir, secrets)
    const url = await postgres.createDatabase('registry_login')
    await migratePostgres(url)
    await insertRegistryRows(url, secrets)
    const db = await PostgresDatabase.open(
      { url, maxConnections: 2, connectTimeoutMs: 5000, statementTimeoutMs: 30_000 },
      () => {},
    )
    const heapBefore = heapUsedBytes()
    const pgRegistry = await PostgresIdentityRegistry.open(db)
    const heapPerDevice = (heapUsedBytes() - heapBefore) / deviceCount
    const fileUs = await usPerLogin(new FileIdentityRegistry(dir), secrets)
    const pgUs = await usPerLogin(pgRegistry, secrets)
    await pgRegistry.close()
    await db.close()
    process.stdout.write(
      [
        `Registry login cost: ${logins} logins over ${deviceCount} devices, median of ${runs} passes, one run.`,
        '',
        '| registry | µs per login | vs the file registry |',
        '|---|---:|---:|',
        `| file (embedded default, reference) | ${fileUs.toFixed(2)} | 1.00x |`,
        `| PostgreSQL (fleet, in memory) | ${pgUs.toFixed(2)} | ${(pgUs / fileUs).toFixed(2)}x |`,
        '',
        `Each node holds the registry in memory: ${Number.isNaN(heapPerDevice) ? 'n/a (run node with --expose-gc)' : `${heapPerDevice.toFixed(0)} bytes of heap per device`}.`,
        '',
      ].join('\n'),
    )
  } finally {
    await postgres.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
