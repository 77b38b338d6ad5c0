// Device health with charts, and visitor statistics.
import { api, esc } from './api.js'
import { hourBars, lineChart } from './charts.js'
import { shortDateTime, timeZone } from './time.js'

function bytes(n) {
  if (n === null || n === undefined) return '—'
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let value = n
  let i = 0
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024
    i += 1
  }
  return `${value.toFixed(1)} ${units[i]}`
}

/** Devices: online state, last heartbeat, outbox depth, temperature, free disk; and reading charts. */
export async function renderDevices(view) {
  const dayAgo = Date.now() - 24 * 60 * 60 * 1000
  const [{ devices }, temperature, light] = await Promise.all([
    api('/api/devices/health'),
    api(`/api/readings?type=temperature&fromMs=${dayAgo}`),
    api(`/api/readings?type=light&fromMs=${dayAgo}`),
  ])
  const rows = devices.map((d) => {
    const h = d.health
    const outbox = h ? h.outbox.high + h.outbox.medium + h.outbox.low : null
    return `<tr data-device-id="${esc(d.deviceId)}">
      <td>${esc(d.deviceId)}</td>
      <td class="${esc(d.status)}">${d.status === 'offline' ? 'offline' : 'online'}${d.status === 'degraded' ? ' (degraded)' : ''}</td>
      <td>${esc(d.lastHealthAt ? shortDateTime(d.lastHealthAt) : '—')}</td>
      <td>${outbox ?? '—'}</td>
      <td>${h?.cpuTempC ?? '—'}${h?.cpuTempC != null ? ' °C' : ''}</td>
      <td>${bytes(h?.diskFreeBytes)}</td>
      <td>${esc(d.problems.join(', '))}</td>
      <td><a class="live-link" href="#/live/${encodeURIComponent(d.deviceId)}">Live</a></td></tr>`
  })
  view.innerHTML = `<section class="card"><h2>Devices</h2>
    <table><thead><tr><th>Device</th><th>State</th><th>Last heartbeat</th><th>Outbox</th><th>CPU temp.</th><th>Free disk</th><th>Problems</th><th></th></tr></thead>
    <tbody>${rows.join('') || '<tr><td colspan="8" class="muted">No device registered yet.</td></tr>'}</tbody></table></section>
    <section class="card"><h2>Temperature (24 h)</h2>${lineChart(temperature.points, temperature.unit)}</section>
    <section class="card"><h2>Light (24 h)</h2>${lineChart(light.points, ` ${light.unit}`)}</section>`
}

/** Visitor statistics: presses and motion by hour of day over the last 30 days, in the user's zone. */
export async function renderStats(view) {
  const zone = timeZone()
  const stats = await api(`/api/stats/visitors?timeZone=${encodeURIComponent(zone)}`)
  const peaks = (p) => (p.peakHours.length ? p.peakHours.map((h) => `${h}:00`).join(', ') : '—')
  view.innerHTML = `<section class="card"><h2>Visitors by hour of day</h2>
    <p class="muted small">The last 30 days, hours in ${esc(zone.replaceAll('_', ' '))}.</p>
    <h3>Doorbell presses: ${stats.presses.total} <small class="muted">peak ${esc(peaks(stats.presses))}</small></h3>
    ${hourBars(stats.presses.byHour)}
    <h3>Motion: ${stats.motion.total} <small class="muted">peak ${esc(peaks(stats.motion))}</small></h3>
    ${hourBars(stats.motion.byHour, '#27ae60')}
    ${stats.isTruncated ? '<p class="muted">Counts are a lower bound (too many events).</p>' : ''}</section>`
}
