import { PNG } from 'pngjs'
import { describe, expect, it } from 'vitest'
import { renderBarChart } from '../../bench/bar-chart-png.js'
import { type BenchResults, chartRows, improvementPct, reportMarkdown } from '../../bench/bench-results.js'

const run = (createdAt: string, rate: number, p99: number): BenchResults => ({
  createdAt,
  node: 'v22',
  commit: 'abc',
  benches: [
    {
      name: 'collector-ingest',
      ok: true,
      figures: [
        {
          name: 'rate',
          value: rate,
          unit: 'msgs/s',
          better: 'higher',
          reference: 'bare aedes',
          referenceValue: 1000,
        },
        { name: 'p99', value: p99, unit: 'ms', better: 'lower', reference: 'idle link', referenceValue: 10 },
      ],
    },
  ],
})

describe('bench report', () => {
  it('puts each figure beside its reference and the previous run, positive change meaning better', () => {
    const markdown = reportMarkdown(run('t2', 900, 8), run('t1', 600, 16))
    expect(markdown).toContain(
      '| collector-ingest | rate | 900 | msgs/s | bare aedes | 1000 | 0.90x | 600 | +50.0% |',
    )
    expect(markdown).toContain(
      '| collector-ingest | p99 | 8.00 | ms | idle link | 10.0 | 0.80x | 16.0 | +50.0% |',
    )
    expect(improvementPct({ name: 'p99', value: 20, unit: 'ms', better: 'lower' }, 10)).toBe(-100)
  })

  it('renders a PNG chart with one row per figure that has a reference', () => {
    const rows = chartRows(run('t2', 900, 8), run('t1', 600, 16))
    expect(rows.map((r) => r.previousRatio)).toEqual([0.6, 1.6])
    const png = PNG.sync.read(renderBarChart('test', rows))
    expect(png.width).toBeGreaterThan(300)
    expect(png.height).toBe(40 + rows.length * 18 + 24)
  })
})
