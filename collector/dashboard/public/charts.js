// Inline SVG charts, no library: a line chart over time and a bar chart by hour.
import { esc } from './api.js'
import { clockTime } from './time.js'

const height = 180
const pad = 32

/** Drawing width: narrower on a phone, so the labels stay readable once the SVG is scaled to the screen. */
function chartWidth() {
  return globalThis.matchMedia?.('(max-width: 640px)').matches ? 360 : 600
}

/** A line chart of {at, value} points (one series per device), with min/max labels; times in the user's zone. */
export function lineChart(points, unit) {
  if (points.length === 0) return '<p class="muted">No readings in this period.</p>'
  const width = chartWidth()
  const times = points.map((p) => Date.parse(p.at))
  const values = points.map((p) => p.value)
  const [t0, t1] = [Math.min(...times), Math.max(...times)]
  let [v0, v1] = [Math.min(...values), Math.max(...values)]
  if (v0 === v1) [v0, v1] = [v0 - 1, v1 + 1]
  const x = (t) => pad + ((t - t0) / (t1 - t0 || 1)) * (width - 2 * pad)
  const y = (v) => height - pad + ((v0 - v) / (v1 - v0)) * (height - 2 * pad)
  const byDevice = new Map()
  for (const p of points) byDevice.set(p.deviceId, [...(byDevice.get(p.deviceId) ?? []), p])
  const colors = ['#1f4e79', '#c0392b', '#27ae60', '#8e44ad']
  const lines = [...byDevice.values()].map((series, i) => {
    const d = series.map((p) => `${x(Date.parse(p.at)).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ')
    return `<polyline fill="none" stroke="${colors[i % colors.length]}" stroke-width="2" points="${d}"/>`
  })
  const legend = [...byDevice.keys()]
    .map((id, i) => `<tspan fill="${colors[i % colors.length]}">${esc(id)} </tspan>`)
    .join('')
  return `<svg class="chart" viewBox="0 0 ${width} ${height}" role="img">
    <text x="${pad}" y="14" font-size="11">${legend}</text>
    <text x="2" y="${pad + 4}" font-size="10">${v1.toFixed(1)}${esc(unit)}</text>
    <text x="2" y="${height - pad + 4}" font-size="10">${v0.toFixed(1)}${esc(unit)}</text>
    <text x="${pad}" y="${height - 8}" font-size="10">${esc(clockTime(t0))}</text>
    <text x="${width - pad}" y="${height - 8}" font-size="10" text-anchor="end">${esc(clockTime(t1))}</text>
    ${lines.join('')}
  </svg>`
}

/** A bar chart of 24 counts (index = hour of day). */
export function hourBars(byHour, color = '#1f4e79') {
  const max = Math.max(1, ...byHour)
  const width = chartWidth()
  const labelEveryH = width < 600 ? 6 : 3
  const slot = (width - 2 * pad) / 24
  const bars = byHour.map((count, hour) => {
    const h = (count / max) * (height - 2 * pad)
    const x = pad + hour * slot
    return `<rect x="${(x + 1).toFixed(1)}" y="${(height - pad - h).toFixed(1)}" width="${(slot - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${color}"><title>${hour}:00 — ${count}</title></rect>
      ${hour % labelEveryH === 0 ? `<text x="${x.toFixed(1)}" y="${height - pad + 12}" font-size="10">${hour}h</text>` : ''}`
  })
  return `<svg class="chart" viewBox="0 0 ${width} ${height}" role="img">
    <text x="2" y="${pad}" font-size="10">${max}</text>${bars.join('')}</svg>`
}
