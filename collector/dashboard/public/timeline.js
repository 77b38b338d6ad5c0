// The live timeline (SSE) with a snapshot thumbnail per press, and the event detail.
import { api, esc } from './api.js'
import { dateTime, shortDateTime } from './time.js'

/** What each event type is called in the timeline. */
export const labels = {
  'button.press': 'Doorbell press',
  'live.started': 'Live view started',
  'live.ended': 'Live view ended',
  motion: 'Motion',
  snapshot: 'Snapshot',
  'clip.manifest': 'Clip',
}

const pageSize = 20
let stream = null

/** Closes the timeline's live stream (when another page opens). */
export function closeTimelineStream() {
  stream?.close()
  stream = null
}

function thumbnailImg(snapshotId) {
  return `<img class="thumb" loading="lazy" decoding="async" width="96" height="72" alt="Snapshot"
    src="/api/events/${esc(snapshotId)}/thumbnail">`
}

const bell =
  '<svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true"><path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z"/></svg>'

/** The picture of a row: the snapshot's thumbnail, or a placeholder that a snapshot arriving later fills. */
function thumbnailOf(e) {
  if (e.type === 'snapshot') return thumbnailImg(e.id)
  if (e.media?.snapshotId) return thumbnailImg(e.media.snapshotId)
  if (e.type === 'button.press' || e.type === 'motion')
    return `<span class="thumb placeholder" title="No picture yet">${bell}</span>`
  return '<span class="thumb placeholder icon" aria-hidden="true"></span>'
}

function eventRow(e, isNew = false) {
  const clip = e.media?.clipId ? ' <span class="badge">clip</span>' : ''
  return `<li data-event-id="${esc(e.id)}" class="${isNew ? 'new' : ''}"><a href="#/event/${esc(e.id)}">
    ${thumbnailOf(e)}
    <span class="what"><span><span class="kind">${esc(labels[e.type] ?? e.type)}</span>${clip}</span>
      <span class="meta"><span class="device">${esc(e.deviceId)}</span>
      <time datetime="${esc(e.capturedAt)}">${esc(shortDateTime(e.capturedAt))}</time></span></span></a></li>`
}

/** A snapshot arrived: the row of the event it relates to swaps its placeholder for the thumbnail. */
function fillThumbnail(list, snapshot) {
  const relatesTo = snapshot.payload?.relatesTo
  if (!relatesTo) return
  const placeholder = list.querySelector(`[data-event-id="${CSS.escape(relatesTo)}"] .thumb.placeholder`)
  placeholder?.insertAdjacentHTML('afterend', thumbnailImg(snapshot.id))
  placeholder?.remove()
}

/** The timeline: pages of events newest first, and new ones sliding in over Server-Sent Events. */
export async function renderTimeline(view) {
  view.innerHTML = `<section class="card"><div class="card-head"><h2>Timeline</h2>
    <span class="status muted" id="live">connecting…</span></div>
    <label class="filter">Show <select id="filter"><option value="button.press">Presses</option><option value="motion">Motion</option><option value="">Everything</option></select></label>
    <ul class="timeline" id="timeline"></ul><button id="more" type="button" hidden>Older</button></section>`
  const list = document.getElementById('timeline')
  const filter = document.getElementById('filter')
  const more = document.getElementById('more')
  let cursor
  const load = async (isReset) => {
    const q = new URLSearchParams({ limit: String(pageSize) })
    if (filter.value) q.set('type', filter.value)
    if (!isReset && cursor) q.set('cursor', cursor)
    const page = await api(`/api/events?${q}`)
    if (isReset) list.innerHTML = ''
    list.insertAdjacentHTML('beforeend', page.items.map((e) => eventRow(e)).join(''))
    cursor = page.nextCursor
    more.hidden = !cursor
    if (list.children.length === 0) list.innerHTML = '<li class="muted empty">Nothing yet.</li>'
  }
  // A thumbnail that cannot be had (the snapshot is not an image) shows the placeholder, not a broken image.
  list.addEventListener(
    'error',
    (e) => {
      if (!(e.target instanceof HTMLImageElement)) return
      e.target.insertAdjacentHTML(
        'afterend',
        `<span class="thumb placeholder" title="No picture">${bell}</span>`,
      )
      e.target.remove()
    },
    true,
  )
  filter.addEventListener('change', () => load(true))
  more.addEventListener('click', () => load(false))
  await load(true)
  // Left while the first page loaded: no stream for a page nobody sees.
  if (!view.isConnected) return
  closeTimelineStream()
  stream = new EventSource('/api/events/stream')
  let hasDropped = false
  stream.addEventListener('open', () => {
    const live = document.getElementById('live')
    if (live) live.textContent = 'live'
    // Events stored while the stream was down were not pushed: read the first page again.
    if (hasDropped && document.getElementById('timeline')) load(true).catch(() => {})
    hasDropped = false
  })
  stream.addEventListener('error', () => {
    hasDropped = true
    const live = document.getElementById('live')
    if (live) live.textContent = 'reconnecting…'
  })
  // A fleet node missed announcements of other nodes' events: read the first page again.
  stream.addEventListener('resync', () => {
    if (document.getElementById('timeline')) load(true).catch(() => {})
  })
  stream.addEventListener('stored', (message) => {
    const e = JSON.parse(message.data)
    if (!document.getElementById('timeline')) return
    if (e.type === 'snapshot') fillThumbnail(list, e)
    if (filter.value && e.type !== filter.value) return
    list.querySelector('.empty')?.remove()
    if (!list.querySelector(`[data-event-id="${CSS.escape(e.id)}"]`))
      list.insertAdjacentHTML('afterbegin', eventRow(e, true))
  })
}

/** One event: when and where, its snapshot and clip, and the way to the device's live view. */
export async function renderEvent(view, id) {
  const { event, snapshotIds, clipIds } = await api(`/api/events/${encodeURIComponent(id)}`)
  const snapshot =
    snapshotIds.length > 0 || event.type === 'snapshot'
      ? `<img class="snapshot" id="snapshot" alt="Snapshot" src="/api/events/${esc(event.id)}/snapshot">`
      : '<p class="muted">No snapshot for this event.</p>'
  const clip =
    clipIds.length > 0
      ? `<video id="clip" controls preload="auto" playsinline src="/api/clips/${esc(clipIds[0])}"></video>`
      : '<p class="muted" id="no-clip">No clip yet (clips arrive after the press; reload in a moment).</p>'
  const live = `<a class="button" id="event-live" href="#/live/${encodeURIComponent(event.deviceId)}">Live view</a>`
  view.innerHTML = `<section class="card event"><a href="#/">← Timeline</a>
    <h2>${esc(labels[event.type] ?? event.type)} at ${esc(event.deviceId)}</h2>
    <p><time datetime="${esc(event.capturedAt)}">${esc(dateTime(event.capturedAt))}</time></p>
    <p class="muted small">class ${esc(event.class)} · <code>${esc(event.id)}</code></p>
    <p>${live}</p>
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
