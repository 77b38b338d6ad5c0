/**
 * Clip bodies: what keeping them in PostgreSQL (fleet mode, PostgresClipStore) costs beside files in the
 * data folder (the embedded default, FileClipStore), in the same run. A clip of BENCH_CLIP_MIB MiB in the
 * agent's default 16 KiB chunks, written 8 at a time (a group commit writes a batch's chunks in parallel),
 * then checked against its sha256 (finalize), then the first local copy the dashboard serves (clipFile).
 * PostgreSQL runs durable (fsync on), as the files are synced.
 * Run: npm run build && node dist/bench/clip-bodies.js
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ClipManifest, ClipStore } from '../collector/clips/clip-store.js'
import { FileClipStore } from '../collector/clips/file-clip-store.js'
import { PostgresClipStore } from '../collector/postgres/postgres-clip-store.js'
import { PostgresDatabase } from '../collector/postgres/postgres-database.js'
import { migratePostgres } from '../collector/postgres/postgres-migrations.js'
import { newEventId } from '../shared/protocol/index.js'
import { type BenchFigure, emitFigures } from './bench-figures.js'
import { startPostgres } from './engines/postgres-engine.js'
import { median } from './stats.js'

const runs = Number(process.env.BENCH_RUNS ?? 3)
const clipBytes = Number(process.env.BENCH_CLIP_MIB ?? 4) * 1024 * 1024
const chunkBytes = 16 * 1024
const inFlight = 8

interface Timings {
  writeMs: number
  finalizeMs: number
  copyMs: number
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint()
  await fn()
  return Number(process.hrtime.bigint() - start) / 1e6
}

async function oneClip(store: ClipStore): Promise<Timings> {
  const body = randomBytes(clipBytes)
  const manifest: ClipManifest = {
    clipId: newEventId(),
    contentType: 'video/mp4',
    startedAt: new Date().toISOString(),
    durationMs: 15_000,
    prerollMs: 5000,
    hasAudio: true,
    bytes: body.length,
    sha256: createHash('sha256').update(body).digest('hex'),
    chunkBytes,
    chunkCount: Math.ceil(body.length / chunkBytes),
  }
  const offsets = Array.from({ length: manifest.chunkCount }, (_, i) => i * chunkBytes)
  const writeMs = await timed(async () => {
    for (let i = 0; i < offsets.length; i += inFlight) {
      await Promise.all(
        offsets
          .slice(i, i + inFlight)
          .map((offset) =>
            store.writeChunk('porch', manifest.clipId, offset, body.subarray(offset, offset + chunkBytes)),
          ),
      )
    }
  })
  let verdict = ''
  const finalizeMs = await timed(async () => {
    verdict = await store.finalize('porch', manifest)
  })
  if (verdict !== 'complete') throw new Error(`clip ${verdict}`)
  const copyMs = await timed(() => store.clipFile('porch', manifest.clipId))
  return { writeMs, finalizeMs, copyMs }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-clip-bodies-'))
  const postgres = await startPostgres({ isDurable: true })
  try {
    const url = await postgres.createDatabase('bench_clips')
    await migratePostgres(url)
    const db = await PostgresDatabase.open(
      { url, maxConnections: 10, connectTimeoutMs: 5000, statementTimeoutMs: 60_000 },
      () => {},
    )
    const stores: [string, ClipStore][] = [
      ['files', new FileClipStore(join(dir, 'files'))],
      ['postgres', new PostgresClipStore(db, join(dir, 'postgres'))],
    ]
    const results = new Map<string, Timings[]>(stores.map(([name]) => [name, []]))
    // Interleaved, so a burst of load on the shared machine falls on both.
    for (let run = 0; run < runs; run++)
      for (const [name, store] of stores) results.get(name)?.push(await oneClip(store))
    const tableBytes = await db.query<{ bytes: string }>(
      "SELECT pg_total_relation_size('clip_chunks') AS bytes",
    )
    const bytesPerClipByte = Number(tableBytes.rows[0]?.bytes) / (clipBytes * runs)
    await db.close()
    const medianOf = (name: string, key: keyof Timings) =>
      median((results.get(name) ?? []).map((timing) => timing[key]))
    const mib = clipBytes / 1024 / 1024
    const rows: [string, number, number, string][] = [
      [
        'write MiB/s',
        mib / (medianOf('postgres', 'writeMs') / 1000),
        mib / (medianOf('files', 'writeMs') / 1000),
        'MiB/s',
      ],
      ['finalize ms', medianOf('postgres', 'finalizeMs'), medianOf('files', 'finalizeMs'), 'ms'],
      ['first local copy ms', medianOf('postgres', 'copyMs'), medianOf('files', 'copyMs'), 'ms'],
    ]
    process.stdout.write(
      `clip bodies: ${mib} MiB clip, ${chunkBytes / 1024} KiB chunks, ${inFlight} in flight, median of ${runs}\n`,
    )
    process.stdout.write('| figure | PostgreSQL | files (reference) |\n| --- | --- | --- |\n')
    for (const [name, pgValue, fileValue] of rows)
      process.stdout.write(`| ${name} | ${pgValue.toFixed(1)} | ${fileValue.toFixed(1)} |\n`)
    process.stdout.write(
      `| PostgreSQL bytes per clip byte (clip_chunks with its index and TOAST) | ${bytesPerClipByte.toFixed(3)} | 1 |\n`,
    )
    const figures: BenchFigure[] = [
      {
        name: 'clip body write, PostgreSQL',
        value: rows[0]?.[1] ?? Number.NaN,
        unit: 'MiB/s',
        better: 'higher',
        reference: 'files',
        referenceValue: rows[0]?.[2] ?? Number.NaN,
      },
      {
        name: 'clip check, PostgreSQL',
        value: rows[1]?.[1] ?? Number.NaN,
        unit: 'ms',
        better: 'lower',
        reference: 'files',
        referenceValue: rows[1]?.[2] ?? Number.NaN,
      },
      {
        name: 'clip first local copy, PostgreSQL',
        value: rows[2]?.[1] ?? Number.NaN,
        unit: 'ms',
        better: 'lower',
        reference: 'files',
        referenceValue: rows[2]?.[2] ?? Number.NaN,
      },
      {
        name: 'clip body bytes in PostgreSQL per clip byte',
        value: bytesPerClipByte,
        unit: 'x',
        better: 'lower',
      },
    ]
    emitFigures('clip-bodies', figures)
  } finally {
    await postgres.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
