// The dashboard single-page app: hash routes, login, live timeline (SSE) and event detail.
import { ApiError, api, esc, setCsrfToken, when } from './api.js'
import { renderLive } from './live.js'
import { renderDevices, renderSettings, renderStats } from './views.js'

const view = document.getElementById('view')
const nav = document.getElementById('nav')
let me = null
let stream = null
let leaveLive = null

const labels = {
  'button.press': 'Doorbell press',
  motion: 'Motion',
  snapshot: 'Snapshot',
  'clip.manifest': 'Clip',
  'live.started': 'Live view started',
  'live.ended': 'Live view ended',
}

if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js').catch(() => {})

document.getElementById('logout').addEventListener('click', async () => {
  await api('/api/logout', { method: 'POST' }).catch(() => {})
  me = null
  location.hash = '#/'
  route()
})

function renderLogin(message = '') {
  nav.hidden = true
  view.innerHTML = `<form class="card login" id="login-form">
    <h2>Log in</h2>
    <label>Name <input name="name" autocomplete="username" required></label>
    <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
    <p class="error" id="login-error">${esc(message)}</p>
    <button type="submit">Log in</button>
  </form>`
  document.getElementById('login-form').addEventListener('submit', async (e) => {
    e.preventDefault()
    const form = new FormData(e.target)
    try {
      me = await api('/api/login', {
        method: 'POST',
        body: { name: form.get('name'), password: form.get('password') },
      })
      setCsrfToken(me.csrfToken)
      window.doorbellCsrfToken = me.csrfToken
      route()
    } catch (err) {
      renderLogin(err.status === 401 ? 'Wrong name or password.' : err.message)
    }
  })
}

function eventRow(e, isNew = false) {
  return `<li data-event-id="${esc(e.id)}" class="${isNew ? 'new' : ''}">
    <span class="kind">${esc(labels[e.type] ?? e.type)}</span>
    <span>${esc(e.deviceId)}</span>
    <time datetime="${esc(e.capturedAt)}">${esc(when(e.capturedAt))}</time>
    <a href="#/event/${esc(e.id)}">Open</a></li>`
}

async function renderTimeline() {
  view.innerHTML = `<section class="card"><h2>Live timeline <small class="muted" id="live">connecting…</small></h2>
    <label>Show <select id="filter"><option value="button.press">Presses</option><option value="motion">Motion</option><option value="">Everything</option></select></label>
    <ul class="timeline" id="timeline"></ul><button id="more" hidden>Older</button></section>`
  const list = document.getElementById('timeline')
  const filter = document.getElementById('filter')
  const more = document.getElementById('more')
  let cursor
  const load = async (isReset) => {
    if (isReset) {
      list.innerHTML = ''
      cursor = undefined
    }
    const q = new URLSearchParams({ limit: '20' })
    if (filter.value) q.set('type', filter.value)
    if (cursor) q.set('cursor', cursor)
    const page = await api(`/api/events?${q}`)
    list.insertAdjacentHTML('beforeend', page.items.map((e) => eventRow(e)).join(''))
    cursor = page.nextCursor
    more.hidden = !cursor
    if (list.children.length === 0) list.innerHTML = '<li class="muted empty">Nothing yet.</li>'
  }
  filter.addEventListener('change', () => load(true))
  more.addEventListener('click', () => load(false))
  await load(true)
  stream?.close()
  stream = new EventSource('/api/events/stream')
  stream.addEventListener('open', () => {
    document.getElementById('live').textContent = 'live'
  })
  stream.addEventListener('error', () => {
    const live = document.getElementById('live')
    if (live) live.textContent = 'reconnecting…'
  })
  stream.addEventListener('stored', (message) => {
    const e = JSON.parse(message.data)
    if (!document.getElementById('timeline')) return
    if (filter.value && e.type !== filter.value) return
    list.querySelector('.empty')?.remove()
    if (!list.querySelector(`[data-event-id="${e.id}"]`))
      list.insertAdjacentHTML('afterbegin', eventRow(e, true))
  })
}

async function renderEvent(id) {
  const { event, snapshotIds, clipIds } = await api(`/api/events/${encodeURIComponent(id)}`)
  const snapshot =
    snapshotIds.length > 0 || event.type === 'snapshot'
      ? `<img class="snapshot" id="snapshot" alt="Snapshot" src="/api/events/${esc(event.id)}/snapshot">`
      : '<p class="muted">No snapshot for this event.</p>'
  const clip =
    clipIds.length > 0
      ? `<video id="clip" controls preload="auto" playsinline src="/api/clips/${esc(clipIds[0])}"></video>`
      : '<p class="muted" id="no-clip">No clip yet (clips arrive after the press; reload in a moment).</p>'
  view.innerHTML = `<section class="card"><a href="#/">← Timeline</a>
    <h2>${esc(labels[event.type] ?? event.type)} at ${esc(event.deviceId)}</h2>
    <p>${esc(when(event.capturedAt))} · class ${esc(event.class)} · <code>${esc(event.id)}</code></p>
    <h3>Snapshot</h3>${snapshot}<h3>Clip</h3>${clip}</section>`
  document.getElementById('snapshot')?.addEventListener('error', (e) => {
    e.target.replaceWith(
      Object.assign(document.createElement('p'), {
        className: 'muted',
        textContent: 'Snapshot not available.',
      }),
    )
  })
}

async function route() {
  if (!me) {
    try {
      me = await api('/api/session')
      setCsrfToken(me.csrfToken)
      window.doorbellCsrfToken = me.csrfToken
    } catch {
      return renderLogin()
    }
  }
  nav.hidden = false
  document.getElementById('who').textContent = `${me.user} (${me.role})`
  const hash = location.hash.replace(/^#/, '') || '/'
  if (hash !== '/') {
    stream?.close()
    stream = null
  }
  leaveLive?.()
  leaveLive = null
  try {
    if (hash.startsWith('/live/')) leaveLive = await renderLive(view, decodeURIComponent(hash.slice(6)))
    else if (hash.startsWith('/event/')) await renderEvent(hash.slice(7))
    else if (hash === '/devices') await renderDevices(view)
    else if (hash === '/stats') await renderStats(view)
    else if (hash === '/settings') await renderSettings(view, me)
    else await renderTimeline()
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      me = null
      return renderLogin('Your session ended; log in again.')
    }
    view.innerHTML = `<p class="error">${esc(err.message)}</p>`
  }
}

window.addEventListener('hashchange', route)
route()
