#!/usr/bin/env node
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/**
 * `npm run bench`: runs every benchmark script in turn, one at a time so they do not disturb each other,
 * and prints each table as the script prints it. BENCH_ONLY=name,name runs a subset.
 */

const benchmarks = [
  'collector-ingest',
  'agent-latency',
  'media-clip',
  'media-chunking',
  'media-priority',
  'alerts-latency',
] as const

const only = process.env.BENCH_ONLY?.split(',').filter(Boolean)
let failed = 0
for (const name of benchmarks) {
  if (only && !only.includes(name)) continue
  const script = fileURLToPath(new URL(`./${name}.js`, import.meta.url))
  process.stdout.write(`\n## ${name}\n\n`)
  const result = spawnSync(process.execPath, [script], { stdio: 'inherit', timeout: 15 * 60_000 })
  if (result.status !== 0) {
    failed += 1
    process.stdout.write(`\n${name} failed (exit ${result.status ?? result.signal})\n`)
  }
}
process.exitCode = failed > 0 ? 1 : 0
