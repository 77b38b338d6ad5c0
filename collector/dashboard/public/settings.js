// Notification settings, the time zone times are shown in, and this browser's push subscription.
import { api, esc } from './api.js'
import { browserTimeZone, useTimeZone } from './time.js'

const kinds = ['press', 'motion', 'offline', 'online', 'temperature']

/** The zone choice: the browser's own (saved as null) or any zone this browser knows. */
function zoneSelect(saved, disabled) {
  const zones = Intl.supportedValuesOf?.('timeZone') ?? []
  if (saved && !zones.includes(saved)) zones.unshift(saved)
  const options = zones
    .map(
      (z) =>
        `<option value="${esc(z)}" ${z === saved ? 'selected' : ''}>${esc(z.replaceAll('_', ' '))}</option>`,
    )
    .join('')
  return `<label>Show times in <select name="timeZone" id="time-zone" ${disabled}>
    <option value="" ${saved ? '' : 'selected'}>this browser's zone (${esc(browserTimeZone())})</option>${options}</select></label>`
}

function base64UrlToBytes(text) {
  const raw = atob(text.replace(/-/g, '+').replace(/_/g, '/'))
  return Uint8Array.from(raw, (c) => c.charCodeAt(0))
}

/** Settings (owner edits, viewer reads): notifications, the time zone, test notification, push on this browser. */
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
    <fieldset><legend>Time zone</legend>${zoneSelect(s.timeZone, disabled)}
      <p class="muted small">Times, charts, visitor statistics and quiet hours use it.</p></fieldset>
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
    const zone = f.get('timeZone') || null
    const body = {
      channels: f.getAll('channel'),
      kinds: f.getAll('kind'),
      quietHours: f.get('quiet')
        ? {
            start: f.get('start'),
            end: f.get('end'),
            timeZone: zone ?? browserTimeZone(),
            allowKinds: ['press'],
          }
        : null,
      timeZone: zone,
    }
    try {
      await api('/api/settings', { method: 'PUT', body })
      me.timeZone = zone
      useTimeZone(zone)
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
