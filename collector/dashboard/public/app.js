// The dashboard single-page app: hash routes, login, and the page for each route.
import { ApiError, api, esc, setCsrfToken } from './api.js'
import { renderLive } from './live.js'
import { renderSettings } from './settings.js'
import { useTimeZone } from './time.js'
import { closeTimelineStream, renderEvent, renderTimeline } from './timeline.js'
import { renderDevices, renderStats } from './views.js'

const view = document.getElementById('view')
const nav = document.getElementById('nav')
let me = null
let leaveLive = null

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
      useTimeZone(me.timeZone)
      route()
    } catch (err) {
      renderLogin(err.status === 401 ? 'Wrong name or password.' : err.message)
    }
  })
}

async function route() {
  if (!me) {
    try {
      me = await api('/api/session')
      setCsrfToken(me.csrfToken)
      window.doorbellCsrfToken = me.csrfToken
      useTimeZone(me.timeZone)
    } catch {
      return renderLogin()
    }
  }
  nav.hidden = false
  document.getElementById('who').textContent = `${me.user} (${me.role})`
  const hash = location.hash.replace(/^#/, '') || '/'
  if (hash !== '/') closeTimelineStream()
  markCurrentTab(hash)
  leaveLive?.()
  leaveLive = null
  // Each navigation draws into a box of its own; the next one takes it out of the page, so a render still
  // waiting for its data when the user moves on writes where nobody sees it.
  const page = document.createElement('div')
  view.replaceChildren(page)
  try {
    if (hash.startsWith('/live/')) {
      const leave = await renderLive(page, decodeURIComponent(hash.slice(6)))
      // A live view left before it was up ends its session at once.
      if (page.isConnected) leaveLive = leave
      else leave?.()
    } else if (hash.startsWith('/event/')) await renderEvent(page, hash.slice(7))
    else if (hash === '/devices') await renderDevices(page)
    else if (hash === '/stats') await renderStats(page)
    else if (hash === '/settings') await renderSettings(page, me)
    else await renderTimeline(page)
  } catch (err) {
    if (!page.isConnected) return
    if (err instanceof ApiError && err.status === 401) {
      me = null
      return renderLogin('Your session ended; log in again.')
    }
    page.innerHTML = `<p class="error">${esc(err.message)}</p>`
  }
}

/** Marks the tab of the page shown (an event belongs to the timeline, a live view to the devices). */
function markCurrentTab(hash) {
  const section = hash.startsWith('/event/') ? '/' : hash.startsWith('/live/') ? '/devices' : hash
  for (const link of nav.querySelectorAll('a[href^="#/"]')) {
    if (link.getAttribute('href') === `#${section}`) link.setAttribute('aria-current', 'page')
    else link.removeAttribute('aria-current')
  }
}

window.addEventListener('hashchange', route)
route()
