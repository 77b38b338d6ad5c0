/**
 * Media benchmark: clip assembly and snapshot cost on this machine, each beside its reference.
 * - clip: the ring's segments joined with the concat demuxer and -c copy (ours) vs re-encoding them
 *   with libx264 ultrafast (what a pipeline without a copy-only ring would pay per clip);
 * - snapshot: last frame of the newest segment (ours; decodes the whole segment) vs only its first
 *   keyframe (cheapest possible, but up to one segment older).
 * Run: npm run build && node dist/bench/media-clip.js
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BenchFigure, emitFigures } from './bench-figures.js'

const runs = 5
const sizes = ['320x240', '1280x720']
const clipSeconds = 15

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

function timeMs(fn: () => void): number {
  const start = process.hrtime.bigint()
  fn()
  return Number(process.hrtime.bigint() - start) / 1e6
}

function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args])
}

function makeSegments(dir: string, size: string): string[] {
  ffmpeg([
    ...[
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=${size}:rate=15`,
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=16000',
    ],
    ...['-t', String(clipSeconds), '-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', 'ultrafast'],
    ...[
      '-pix_fmt',
      'yuv420p',
      '-g',
      '15',
      '-keyint_min',
      '15',
      '-sc_threshold',
      '0',
      '-c:a',
      'aac',
      '-b:a',
      '32k',
    ],
    ...['-f', 'segment', '-segment_time', '1', '-segment_format', 'mpegts', join(dir, 'seg-%06d.ts')],
  ])
  return readdirSync(dir)
    .filter((n) => n.endsWith('.ts'))
    .sort()
    .map((n) => join(dir, n))
}

const rows: string[] = []
const snapRows: string[] = []
const figures: BenchFigure[] = []
for (const size of sizes) {
  const dir = mkdtempSync(join(tmpdir(), 'doorbell-bench-media-'))
  try {
    const segments = makeSegments(dir, size)
    const list = join(dir, 'list.txt')
    writeFileSync(list, segments.map((s) => `file '${s}'\n`).join(''))
    const out = join(dir, 'clip.mp4')
    const concat = ['-f', 'concat', '-safe', '0', '-i', list]
    const copyMs: number[] = []
    const encodeMs: number[] = []
    let copyBytes = 0
    for (let i = 0; i < runs; i += 1) {
      copyMs.push(timeMs(() => ffmpeg([...concat, '-c', 'copy', '-movflags', '+faststart', out])))
      copyBytes = statSync(out).size
      encodeMs.push(
        timeMs(() =>
          ffmpeg([
            ...concat,
            '-c:v',
            'libx264',
            '-preset',
            'ultrafast',
            '-c:a',
            'copy',
            '-movflags',
            '+faststart',
            out,
          ]),
        ),
      )
    }
    const c = median(copyMs)
    const e = median(encodeMs)
    figures.push({
      name: `clip ${size} concat`,
      value: c,
      unit: 'ms',
      better: 'lower',
      reference: 're-encode',
      referenceValue: e,
    })
    rows.push(
      `| ${size} | ${clipSeconds} s, ${(copyBytes / 1024).toFixed(0)} KiB | ${c.toFixed(0)} | ${e.toFixed(0)} | ${(e / c).toFixed(1)}x |`,
    )
    const newest = segments.at(-1) as string
    const jpg = join(dir, 'snap.jpg')
    const lastMs: number[] = []
    const firstMs: number[] = []
    for (let i = 0; i < runs; i += 1) {
      lastMs.push(
        timeMs(() => ffmpeg(['-i', newest, '-an', '-q:v', '4', '-update', '1', '-f', 'image2', jpg])),
      )
      firstMs.push(
        timeMs(() => ffmpeg(['-i', newest, '-an', '-q:v', '4', '-frames:v', '1', '-f', 'image2', jpg])),
      )
    }
    const l = median(lastMs)
    const f = median(firstMs)
    figures.push({
      name: `snapshot ${size} last frame`,
      value: l,
      unit: 'ms',
      better: 'lower',
      reference: 'first keyframe',
      referenceValue: f,
    })
    snapRows.push(
      `| ${size} | ${l.toFixed(0)} | ${f.toFixed(0)} | ${(l / f).toFixed(2)}x | ${(statSync(jpg).size / 1024).toFixed(1)} |`,
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

console.log(`Clip assembly, median of ${runs} runs (ms), 1 s segments with AAC audio:\n`)
console.log(
  '| size | clip | concat -c copy + faststart (ours) | re-encode libx264 ultrafast (reference) | reference / ours |',
)
console.log('|---|---|---|---|---|')
console.log(rows.join('\n'))
console.log(`\nSnapshot from the newest 1 s segment, median of ${runs} runs (ms):\n`)
console.log(
  '| size | last frame (ours) | first keyframe only (reference) | ours / reference | JPEG KiB (q 4) |',
)
console.log('|---|---|---|---|---|')
console.log(snapRows.join('\n'))
emitFigures('media-clip', figures)
