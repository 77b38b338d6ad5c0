import type { ChartRow } from './bar-chart-png.js'
import type { BenchFigure } from './bench-figures.js'

/** One run of `npm run bench`, as kept in bench/results/<timestamp>.json. */
export interface BenchResults {
  readonly createdAt: string
  readonly node: string
  readonly commit: string
  /** BENCH_* size settings of the run (runs, seconds, presses, ...); empty for the default sizes. */
  readonly settings?: Readonly<Record<string, string>>
  readonly benches: readonly {
    readonly name: string
    readonly ok: boolean
    readonly figures: readonly BenchFigure[]
  }[]
}

const key = (bench: string, figure: string) => `${bench} / ${figure}`

function format(value: number): string {
  if (!Number.isFinite(value)) return '-'
  const abs = Math.abs(value)
  return abs >= 100 ? value.toFixed(0) : abs >= 10 ? value.toFixed(1) : value.toFixed(2)
}

/** Figures of a run by "bench / figure". */
export function figuresByKey(results: BenchResults | undefined): Map<string, BenchFigure> {
  const map = new Map<string, BenchFigure>()
  for (const bench of results?.benches ?? [])
    for (const f of bench.figures) map.set(key(bench.name, f.name), f)
  return map
}

/** The change from the previous value, signed so that a positive percentage is always better. */
export function improvementPct(figure: BenchFigure, previous: number): number {
  const change = (figure.value - previous) / previous
  return (figure.better === 'higher' ? change : -change) * 100
}

/** The markdown report: every figure beside its reference and beside the previous run. */
export function reportMarkdown(current: BenchResults, previous: BenchResults | undefined): string {
  const before = figuresByKey(previous)
  const lines = [
    `# Benchmark report ${current.createdAt}`,
    '',
    `node ${current.node}, commit ${current.commit}; previous run: ${previous ? `${previous.createdAt} (commit ${previous.commit})` : 'none'}.`,
    `Sizes: ${
      Object.entries(current.settings ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(' ') || 'defaults'
    }.`,
    'Ratio = value / reference. Change vs previous: positive is better (faster, or more throughput).',
    '',
    '| benchmark | figure | value | unit | reference | reference value | ratio | previous | change vs previous |',
    '| --- | --- | ---: | --- | --- | ---: | ---: | ---: | ---: |',
  ]
  for (const bench of current.benches) {
    if (!bench.ok) lines.push(`| ${bench.name} | **failed** | | | | | | | |`)
    for (const f of bench.figures) {
      const prev = before.get(key(bench.name, f.name))
      const ratio = f.referenceValue ? f.value / f.referenceValue : Number.NaN
      const change =
        prev && prev.value !== 0
          ? `${improvementPct(f, prev.value) >= 0 ? '+' : ''}${improvementPct(f, prev.value).toFixed(1)}%`
          : '-'
      lines.push(
        `| ${bench.name} | ${f.name} | ${format(f.value)} | ${f.unit} | ${f.reference ?? '-'} | ${f.referenceValue === undefined ? '-' : format(f.referenceValue)} | ${Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : '-'} | ${prev ? format(prev.value) : '-'} | ${change} |`,
      )
    }
  }
  return `${lines.join('\n')}\n`
}

/** Chart rows: every figure that has a reference, as a ratio, with the previous run's ratio. */
export function chartRows(current: BenchResults, previous: BenchResults | undefined): ChartRow[] {
  const before = figuresByKey(previous)
  const rows: ChartRow[] = []
  for (const bench of current.benches) {
    for (const f of bench.figures) {
      if (!f.referenceValue) continue
      const prev = before.get(key(bench.name, f.name))
      rows.push({
        label: f.name,
        ratio: f.value / f.referenceValue,
        ...(prev?.referenceValue ? { previousRatio: prev.value / prev.referenceValue } : {}),
        isLowerBetter: f.better === 'lower',
      })
    }
  }
  return rows
}
