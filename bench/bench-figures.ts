import { appendFileSync } from 'node:fs'

/** One measured figure of a benchmark, beside its reference. */
export interface BenchFigure {
  /** Stable name across runs: the key the next run compares against. */
  readonly name: string
  readonly value: number
  readonly unit: string
  /** Which direction is an improvement. */
  readonly better: 'lower' | 'higher'
  /** What the figure is compared with (bare aedes, mosquitto, naive upload, idle link, ...). */
  readonly reference?: string
  readonly referenceValue?: number
}

/** The JSON line a benchmark appends to the file named by BENCH_JSON (bench/report.ts reads it). */
export interface BenchFiguresLine {
  readonly bench: string
  readonly figures: readonly BenchFigure[]
}

/**
 * Appends the benchmark's figures as one JSON line to the file given by env BENCH_JSON; does nothing
 * without it, so the printed table stays the script's only output.
 */
export function emitFigures(bench: string, figures: readonly BenchFigure[]): void {
  const file = process.env.BENCH_JSON
  if (!file) return
  const line: BenchFiguresLine = {
    bench,
    figures: figures.filter((f) => Number.isFinite(f.value)),
  }
  appendFileSync(file, `${JSON.stringify(line)}\n`)
}
