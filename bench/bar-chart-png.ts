import { PNG } from 'pngjs'

/**
 * A horizontal bar chart as a PNG, drawn pixel by pixel with pngjs (pure JS: no native build, no
 * browser, no system fonts) and a built-in 5x7 bitmap font. Each row shows one figure as a ratio to
 * its reference (the reference is the line at 1.0) and, as a thin bar, the previous run's ratio.
 */

/** One row of the chart. */
export interface ChartRow {
  readonly label: string
  /** This run: value / reference. */
  readonly ratio: number
  /** The previous run's ratio, when there was one. */
  readonly previousRatio?: number
  /** True when a lower ratio is better (latency), false when higher is (throughput). */
  readonly isLowerBetter: boolean
}

// 5x7 glyphs: a character, then 7 rows of 5 bits, each row one base-32 digit.
const fontSource =
  '0ehjlphe14c4444e2eh1248v3v2421he426aiv225vgu11he668guhhe7v1248888ehhehhe9ehhf12cAehhvhhhBuhhuhhuCehgggheDsihhhisEvgguggvFvggugggGehgnhhfHhhhvhhhIe44444eJ72222icKhikokihLggggggvMhrllhhhNhhpljhhOehhhhhePuhhugggQehhhlidRuhhukihSfgge11uTv444444UhhhhhheVhhhhha4WhhhlllaXhha4ahhYhha4444Zv1248gv 0000000.00000cc,0000c48-000v000+044v440%op248j3(2488842)8422248/01248g0:0cc0cc0>8421248<248g842=00v0v00_000000v@eh1dlle|4444444'
const font = new Map<string, number[]>()
for (let i = 0; i + 8 <= fontSource.length; i += 8) {
  font.set(
    fontSource[i] as string,
    [...fontSource.slice(i + 1, i + 8)].map((d) => Number.parseInt(d, 32)),
  )
}

type Rgb = readonly [number, number, number]
const colors = {
  background: [255, 255, 255],
  text: [30, 30, 30],
  grid: [220, 220, 220],
  reference: [90, 90, 90],
  better: [46, 139, 87],
  worse: [205, 92, 60],
  previous: [120, 120, 200],
} as const satisfies Record<string, Rgb>

class Canvas {
  readonly png: PNG
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.png = new PNG({ width, height })
    this.rect(0, 0, width, height, colors.background)
  }

  rect(x: number, y: number, w: number, h: number, [r, g, b]: Rgb): void {
    for (let yy = Math.max(0, Math.floor(y)); yy < Math.min(this.height, Math.floor(y + h)); yy++) {
      for (let xx = Math.max(0, Math.floor(x)); xx < Math.min(this.width, Math.floor(x + w)); xx++) {
        const i = (yy * this.width + xx) * 4
        this.png.data[i] = r
        this.png.data[i + 1] = g
        this.png.data[i + 2] = b
        this.png.data[i + 3] = 255
      }
    }
  }

  /** Text in the 5x7 font at scale 1 (6 px per character); unknown characters print as spaces. */
  text(x: number, y: number, value: string, color: Rgb = colors.text): void {
    let cx = x
    for (const ch of value.toUpperCase()) {
      const rows = font.get(ch)
      if (rows)
        rows.forEach((bits, row) => {
          for (let col = 0; col < 5; col++)
            if (bits & (1 << (4 - col))) this.rect(cx + col, y + row, 1, 1, color)
        })
      cx += 6
    }
  }
}

const rowHeight = 18
const labelWidth = 6 * 46
const plotWidth = 420
const maxRatio = 4

/** Renders the rows; ratios are drawn on a log2 scale from 1/maxRatio to maxRatio. */
export function renderBarChart(title: string, rows: readonly ChartRow[]): Buffer {
  const width = labelWidth + plotWidth + 90
  const height = 40 + rows.length * rowHeight + 24
  const canvas = new Canvas(width, height)
  canvas.text(8, 8, title)
  const top = 28
  const x0 = labelWidth + 10
  const xOf = (ratio: number) => {
    const clamped = Math.min(maxRatio, Math.max(1 / maxRatio, ratio))
    return x0 + ((Math.log2(clamped) + Math.log2(maxRatio)) / (2 * Math.log2(maxRatio))) * plotWidth
  }
  for (const tick of [0.25, 0.5, 1, 2, 4]) {
    canvas.rect(xOf(tick), top, 1, rows.length * rowHeight, tick === 1 ? colors.reference : colors.grid)
    canvas.text(xOf(tick) - 9, top + rows.length * rowHeight + 6, `${tick}X`)
  }
  rows.forEach((row, i) => {
    const y = top + i * rowHeight
    canvas.text(8, y + 5, row.label.slice(0, 45))
    const isBetter = row.isLowerBetter ? row.ratio <= 1 : row.ratio >= 1
    const from = xOf(1)
    const to = xOf(row.ratio)
    canvas.rect(
      Math.min(from, to),
      y + 3,
      Math.max(2, Math.abs(to - from)),
      9,
      isBetter ? colors.better : colors.worse,
    )
    if (row.previousRatio !== undefined && Number.isFinite(row.previousRatio)) {
      const prev = xOf(row.previousRatio)
      canvas.rect(Math.min(from, prev), y + 13, Math.max(2, Math.abs(prev - from)), 2, colors.previous)
    }
    canvas.text(x0 + plotWidth + 8, y + 5, `${row.ratio.toFixed(2)}X`)
  })
  return PNG.sync.write(canvas.png)
}
