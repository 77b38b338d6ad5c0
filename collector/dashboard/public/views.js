// Device health with charts, visitor statistics, and notification settings with the push subscription.
import { api, esc, when } from './api.js'
import { hourBars, lineChart } from './charts.js'

const kinds = ['press', 'motion', 'offline', 'online', 'temperature']

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
      <td>${esc(d.lastHealthAt ? when(d.lastHealthAt) : '—')}</td>
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

/** Visitor statistics: presses and motion by hour of day over the last 30 days. */
export async function renderStats(view) {
  const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone
  const stats = await api(`/api/stats/visitors?timeZone=${encodeURIComponent(timeZone)}`)
  const peaks = (p) => (p.peakHours.length ? p.peakHours.map((h) => `${h}:00`).join(', ') : '—')
  view.innerHTML = `<section class="card"><h2>Visitors by hour of day (30 days, ${esc(timeZone)})</h2>
    <h3>Doorbell presses: ${stats.presses.total} <small class="muted">peak ${esc(peaks(stats.presses))}</small></h3>
    ${hourBars(stats.presses.byHour)}
    <h3>Motion: ${stats.motion.total} <small class="muted">peak ${esc(peaks(stats.motion))}</small></h3>
    ${hourBars(stats.motion.byHour, '#27ae60')}
    ${stats.isTruncated ? '<p class="muted">Counts are a lower bound (too many events).</p>' : ''}</section>`
}

function base64UrlToBytes(text) {
  const raw = atob(text.replace(/-/g, '+').replace(/_/g, '/'))
  return Uint8Array.from(raw, (c) => c.charCodeAt(0))
}

/** Notification settings (owner edits, viewer reads), test notification and this browser's push subscription. */
export async function renderSettings(view, me) {
  const data = await api('/api/settings')
  const s = data.settings
  const isOwner = me.role === 'owner'
  const disabled = isOwner ? '' : 'disabled'
  const channelBoxes =
    data.availableChannels
      .map(
        (c) =>
          `<label><input type="checkbox" name="channel" value="${esc(c.name)}" ${s.channels.includes(c.name) ? 'checked' : ''} ${disabled}> ${esc(c.name)} <small class="muted">${esc(c.kind)}</small></label>`,
      )
      .join('') || '<p class="muted">No channels are configured on the collector.</p>'
  const kindBoxes = kinds
    .map(
      (k) =>
        `<label><input type="checkbox" name="kind" value="${k}" ${s.kinds.includes(k) ? 'checked' : ''} ${disabled}> ${k}</label>`,
    )
    .join('')
  const q = s.quietHours
  view.innerHTML = `<form class="card" id="settings-form"><h2>Notifications for ${esc(data.user)}</h2>
    ${isOwner ? '' : '<p class="muted">Viewers can read these settings; an owner changes them.</p>'}
    <fieldset><legend>Channels</legend>${channelBoxes}</fieldset>
    <fieldset><legend>Alert kinds</legend>${kindBoxes}</fieldset>
    <fieldset><legend>Quiet hours</legend>
      <label><input type="checkbox" name="quiet" ${q ? 'checked' : ''} ${disabled}> Only presses get through between</label>
      <input type="time" name="start" value="${esc(q?.start ?? '22:00')}" ${disabled}> and <input type="time" name="end" value="${esc(q?.end ?? '07:00')}" ${disabled}>
    </fieldset>
    <p><button type="submit" ${disabled}>Save</button> <button type="button" id="test" ${disabled}>Send test notification</button></p>
    <p id="settings-status" class="muted"></p></form>
    <section class="card"><h2>Push on this device</h2>
    <p id="push-status" class="muted">${data.vapidPublicKey ? '' : 'Web Push is not configured on the collector.'}</p>
    <button id="push" type="button" ${data.vapidPublicKey ? '' : 'disabled'}>Enable push on this browser</button></section>`
  const status = (text) => {
    document.getElementById('settings-status').textContent = text
  }
  const form = document.getElementById('settings-form')
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    const f = new FormData(form)
    const body = {
      channels: f.getAll('channel'),
      kinds: f.getAll('kind'),
      quietHours: f.get('quiet')
        ? {
            start: f.get('start'),
            end: f.get('end'),
            timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
            allowKinds: ['press'],
          }
        : null,
    }
    try {
      await api('/api/settings', { method: 'PUT', body })
      status('Saved.')
    } catch (err) {
      status(`Not saved: ${err.message}`)
    }
  })
  document.getElementById('test').addEventListener('click', async () => {
    try {
      const { channels } = await api('/api/settings/test-notification', { method: 'POST' })
      status(channels.length ? `Test sent on ${channels.join(', ')}.` : 'No channel selected.')
    } catch (err) {
      status(`Test failed: ${err.message}`)
    }
  })
  document.getElementById('push').addEventListener('click', async () => {
    const out = document.getElementById('push-status')
    try {
      if (!('serviceWorker' in navigator) || !('PushManager' in window))
        throw new Error('this browser has no Web Push')
      const registration = await navigator.serviceWorker.ready
      if ((await Notification.requestPermission()) !== 'granted') throw new Error('notifications are blocked')
      const subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: base64UrlToBytes(data.vapidPublicKey),
      })
      await api('/api/push/subscriptions', {
        method: 'POST',
        body: { user: data.user, subscription: subscription.toJSON() },
      })
      out.textContent = 'Push is on for this browser.'
    } catch (err) {
      out.textContent = `Push not enabled: ${err.message}`
    }
  })
}
