#!/usr/bin/env node
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { renderBarChart } from './bar-chart-png.js'
import type { BenchFiguresLine } from './bench-figures.js'
import { benchmarks } from './bench-list.js'
import { type BenchResults, chartRows, reportMarkdown } from './bench-results.js'

/**
 * `npm run bench`: runs every benchmark (BENCH_ONLY=name,name for a subset), prints each table, then
 * one report of every figure beside its reference and beside the previous run. Keeps the run in
 * bench/results/<timestamp>.json (the next run compares against the newest one there), and writes
 * bench/results/latest.md and latest.png. BENCH_RESULTS_DIR moves that folder.
 */

const root = fileURLToPath(new URL('../../', import.meta.url))
const resultsDir = process.env.BENCH_RESULTS_DIR ?? join(root, 'bench', 'results')
const only = process.env.BENCH_ONLY?.split(',').filter(Boolean)

function previousResults(): BenchResults | undefined {
  let files: string[] = []
  try {
    files = readdirSync(resultsDir).filter((f) => /^\d{8}T\d{6}Z\.json$/.test(f))
  } catch {
    return undefined
  }
  const newest = files.sort().at(-1)
  return newest ? (JSON.parse(readFileSync(join(resultsDir, newest), 'utf8')) as BenchResults) : undefined
}

function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, stdio: 'pipe' })
      .toString()
      .trim()
  } catch {
    return 'unknown'
  }
}

const previous = previousResults()
const scratch = mkdtempSync(join(tmpdir(), 'bench-report-'))
const benches: { name: string; ok: boolean; figures: BenchFiguresLine['figures'] }[] = []
try {
  for (const name of benchmarks) {
    if (only && !only.includes(name)) continue
    const script = fileURLToPath(new URL(`./${name}.js`, import.meta.url))
    const jsonFile = join(scratch, `${name}.jsonl`)
    writeFileSync(jsonFile, '')
    process.stdout.write(`\n## ${name}\n\n`)
    const result = spawnSync(process.execPath, [script], {
      stdio: 'inherit',
      timeout: 15 * 60_000,
      env: { ...process.env, BENCH_JSON: jsonFile },
    })
    const ok = result.status === 0
    if (!ok) process.stdout.write(`\n${name} failed (exit ${result.status ?? result.signal})\n`)
    const figures = readFileSync(jsonFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .flatMap((line) => (JSON.parse(line) as BenchFiguresLine).figures)
    benches.push({ name, ok, figures })
  }
} finally {
  rmSync(scratch, { recursive: true, force: true })
}

const createdAt = new Date().toISOString()
const settings = Object.fromEntries(
  Object.entries(process.env).filter(
    (entry): entry is [string, string] =>
      entry[0].startsWith('BENCH_') && entry[0] !== 'BENCH_JSON' && entry[1] !== undefined,
  ),
)
const current: BenchResults = { createdAt, node: process.version, commit: commit(), settings, benches }
const stamp = createdAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
mkdirSync(resultsDir, { recursive: true })
writeFileSync(join(resultsDir, `${stamp}.json`), `${JSON.stringify(current, null, 1)}\n`)
const markdown = reportMarkdown(current, previous)
writeFileSync(join(resultsDir, 'latest.md'), `${markdown}\n![ratios to references](latest.png)\n`)
writeFileSync(
  join(resultsDir, 'latest.png'),
  renderBarChart(
    `doorbell bench ${createdAt.slice(0, 16)} - ratio to reference (thin: previous run)`,
    chartRows(current, previous),
  ),
)
process.stdout.write(
  `\n${markdown}\nKept in ${resultsDir}/${stamp}.json; latest.md and latest.png beside it.\n`,
)
process.exitCode = benches.every((b) => b.ok) ? 0 : 1
