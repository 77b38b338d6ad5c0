/**
 * Chunking benchmark: turning a stored clip into protocol chunk frames (read, CRC-32, envelope, DBC1
 * frame) vs only reading and hashing the file (the floor: the manifest needs the sha256 anyway).
 * Run: npm run build && node dist/bench/media-chunking.js
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chunkFrameOf, chunkSpan, describeClipFile, readChunk } from '../agent/media/clip-chunker.js'
import { newEventId } from '../shared/protocol/ids.js'
import { type BenchFigure, emitFigures } from './bench-figures.js'

const runs = 5
const fileBytes = 16 * 1024 * 1024
const chunkSizes = [64 * 1024, 128 * 1024, 256 * 1024]

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

async function timeMs(fn: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint()
  await fn()
  return Number(process.hrtime.bigint() - start) / 1e6
}

const dir = mkdtempSync(join(tmpdir(), 'doorbell-bench-chunk-'))
const path = join(dir, 'clip.mp4')
writeFileSync(path, randomBytes(fileBytes))
const rows: string[] = []
const figures: BenchFigure[] = []
try {
  for (const chunkBytes of chunkSizes) {
    const hashMs: number[] = []
    const frameMs: number[] = []
    for (let i = 0; i < runs; i += 1) {
      hashMs.push(await timeMs(async () => void (await describeClipFile(path, chunkBytes))))
      frameMs.push(
        await timeMs(async () => {
          const description = await describeClipFile(path, chunkBytes)
          const clipId = newEventId()
          for (let index = 0; index < description.chunkCount; index += 1) {
            const span = chunkSpan(description, index)
            const data = await readChunk(path, span)
            chunkFrameOf({ deviceId: 'bench', seq: index, id: newEventId(), clipId, span, data })
          }
        }),
      )
    }
    const h = median(hashMs)
    const f = median(frameMs)
    const mibPerS = fileBytes / 1024 / 1024 / (f / 1000)
    figures.push({
      name: `chunk ${chunkBytes / 1024} KiB hash + frames`,
      value: f,
      unit: 'ms',
      better: 'lower',
      reference: 'read + sha256 only',
      referenceValue: h,
    })
    rows.push(
      `| ${chunkBytes / 1024} KiB | ${Math.ceil(fileBytes / chunkBytes)} | ${f.toFixed(0)} | ${h.toFixed(0)} | ${(f / h).toFixed(2)}x | ${mibPerS.toFixed(0)} |`,
    )
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
console.log(`Chunking a ${fileBytes / 1024 / 1024} MiB clip, median of ${runs} runs (ms):\n`)
console.log(
  '| chunk | chunks | hash + all frames (ours) | read + sha256 only (reference) | ours / reference | MiB/s (ours) |',
)
console.log('|---|---|---|---|---|---|')
console.log(rows.join('\n'))
emitFigures('media-chunking', figures)
