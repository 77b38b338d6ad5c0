// The live view of one doorbell (docs/live.md): WebRTC from the collector, mute, push-to-talk, stop.
import { api, esc } from './api.js'

/** Block size of the simulated camera's time mark for a frame width (shared/live/time-mark.ts). */
function markBlockPx(width) {
  return Math.max(4, Math.min(16, 2 * Math.floor(width / 96)))
}

/** Reads the simulated camera's capture-time mark from a decoded frame; undefined when there is none. */
function readTimeMark(video, canvas) {
  const w = video.videoWidth
  const h = video.videoHeight
  const b = markBlockPx(w)
  if (!w || !h || 24 * b > w) return undefined
  canvas.width = 24 * b
  canvas.height = b
  const g = canvas.getContext('2d', { willReadFrequently: true })
  g.drawImage(video, 0, h - b, 24 * b, b, 0, 0, 24 * b, b)
  const data = g.getImageData(0, 0, 24 * b, b).data
  let gray = 0
  for (let k = 0; k < 24; k++) {
    const i = (Math.floor(b / 2) * 24 * b + k * b + Math.floor(b / 2)) * 4
    gray = gray * 2 + ((data[i] + data[i + 1] + data[i + 2]) / 3 > 128 ? 1 : 0)
  }
  let value = gray
  for (let s = gray >>> 1; s > 0; s >>>= 1) value ^= s
  const modulo = 2 ** 24
  const ageMs = ((((Date.now() % modulo) - value) % modulo) + modulo) % modulo
  // A camera without the mark reads as noise: only a plausible age is a measurement.
  return ageMs < 10_000 ? ageMs : undefined
}

/**
 * The connection in use, from the browser's own getStats: the selected candidate pair's local candidate
 * type (host: direct, srflx: through NAT, relay: through TURN), the transport (for a relay, the one to the
 * TURN server: UDP, TCP or TLS), the far end's address and the round trip. Undefined before ICE settles.
 */
async function linkOf(pc) {
  const report = await pc.getStats()
  let pair
  report.forEach((r) => {
    if (r.type === 'transport' && r.selectedCandidatePairId) pair = report.get(r.selectedCandidatePairId)
  })
  if (!pair) {
    report.forEach((r) => {
      if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') pair ??= r
    })
  }
  if (!pair) return undefined
  const local = report.get(pair.localCandidateId)
  const remote = report.get(pair.remoteCandidateId)
  if (!local) return undefined
  const transport =
    local.candidateType === 'relay' && local.relayProtocol ? local.relayProtocol : local.protocol
  return {
    type: local.candidateType,
    transport: String(transport ?? '').toUpperCase(),
    remoteAddress: remote?.address,
    rttMs: typeof pair.currentRoundTripTime === 'number' ? pair.currentRoundTripTime * 1000 : undefined,
  }
}

const linkNames = {
  host: 'direct',
  srflx: 'direct through NAT',
  prflx: 'direct through NAT',
  relay: 'relayed (TURN)',
}

/** The indicator's text: connection type, transport, round trip, and how far behind live the picture is. */
function linkText(link, latencyMs) {
  return [
    `${linkNames[link.type] ?? link.type} · ${link.transport}`,
    link.rttMs !== undefined ? `RTT ${Math.round(link.rttMs)} ms` : '',
    latencyMs !== undefined ? `${Math.round(latencyMs)} ms behind` : '',
  ]
    .filter(Boolean)
    .join(' · ')
}

function iceServersFor(servers) {
  return servers.map((s) => ({ urls: s.url, username: s.username, credential: s.credential }))
}

function gathered(pc, timeoutMs) {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve()
    const timer = setTimeout(resolve, timeoutMs)
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') {
        clearTimeout(timer)
        resolve()
      }
    })
  })
}

const endReasons = {
  'last-viewer-left': 'stopped',
  idle: 'stopped (idle)',
  'max-length': 'ended: maximum length reached',
  'device-stopped': 'the doorbell stopped streaming',
  'device-offline': 'the doorbell went offline',
  'no-answer': 'the doorbell did not answer',
  shutdown: 'the collector stopped',
}

/** Renders the live view; returns a function that leaves it (called on navigation). */
export async function renderLive(view, deviceId) {
  view.innerHTML = `<section class="card live"><a href="#/devices">← Devices</a>
    <h2>Live: ${esc(deviceId)} <small class="muted" id="live-state">connecting…</small></h2>
    <video id="live-video" autoplay playsinline muted></video>
    <p class="live-link" id="live-link" data-type="" aria-live="polite">connecting…</p>
    <p class="muted" id="live-info"></p>
    <div class="live-controls">
      <button type="button" id="live-mute">Unmute</button>
      <button type="button" id="live-talk" hidden>Hold to talk</button>
      <button type="button" id="live-stop">Stop</button>
    </div></section>`
  const video = document.getElementById('live-video')
  const stateLine = document.getElementById('live-state')
  const info = document.getElementById('live-info')
  const linkLine = document.getElementById('live-link')
  const canvas = document.createElement('canvas')
  const stats = {
    frames: 0,
    firstFrameMs: undefined,
    latenciesMs: [],
    viewerId: undefined,
    pc: undefined,
    link: undefined,
  }
  window.doorbellLive = stats
  const openedAtMs = performance.now()
  let keepalive
  let linkTimer
  let isLeft = false
  let micTrack

  const leave = () => {
    if (isLeft) return
    isLeft = true
    clearInterval(keepalive)
    clearInterval(linkTimer)
    micTrack?.stop()
    stats.pc?.close()
    if (stats.viewerId) {
      // keepalive: the request outlives the page when it is closed or navigated away.
      fetch(`/api/live/viewers/${stats.viewerId}`, {
        method: 'DELETE',
        keepalive: true,
        credentials: 'same-origin',
        headers: { 'x-csrf-token': window.doorbellCsrfToken ?? '' },
      }).catch(() => {})
    }
  }
  window.addEventListener('pagehide', leave, { once: true })
  document.getElementById('live-stop').addEventListener('click', () => {
    leave()
    stateLine.textContent = 'stopped'
  })
  const mute = document.getElementById('live-mute')
  mute.addEventListener('click', () => {
    video.muted = !video.muted
    mute.textContent = video.muted ? 'Unmute' : 'Mute'
  })

  let join
  try {
    join = await api(`/api/live/${encodeURIComponent(deviceId)}/viewers`, { method: 'POST', body: {} })
  } catch (err) {
    stateLine.textContent = err.message
    return leave
  }
  stats.viewerId = join.viewerId
  const pc = new RTCPeerConnection({ iceServers: iceServersFor(join.iceServers) })
  stats.pc = pc
  const remote = new MediaStream()
  video.srcObject = remote
  pc.addEventListener('track', (e) => {
    if (e.track.kind === 'video' || e.track.kind === 'audio') remote.addTrack(e.track)
  })
  const onFrame = () => {
    stats.frames += 1
    stats.firstFrameMs ??= performance.now() - openedAtMs
    const ageMs = readTimeMark(video, canvas)
    if (ageMs !== undefined) stats.latenciesMs.push(ageMs)
    if (!isLeft) video.requestVideoFrameCallback(onFrame)
  }
  video.requestVideoFrameCallback(onFrame)
  await pc.setRemoteDescription({ type: 'offer', sdp: join.sdp })
  if (join.canTalk) {
    try {
      const mic = await navigator.mediaDevices.getUserMedia({ audio: true })
      micTrack = mic.getAudioTracks()[0]
      micTrack.enabled = false
      const talk = pc.getTransceivers().find((t) => t.mid === 'talk')
      if (talk && micTrack) {
        await talk.sender.replaceTrack(micTrack)
        talk.direction = 'sendonly'
        setupTalkButton(join.viewerId, micTrack)
      }
    } catch {
      info.textContent = 'No microphone: talk is off.'
    }
  }
  await pc.setLocalDescription(await pc.createAnswer())
  await gathered(pc, 2000)
  try {
    await api(`/api/live/viewers/${join.viewerId}/answer`, {
      method: 'POST',
      body: { sdp: pc.localDescription.sdp },
    })
  } catch (err) {
    stateLine.textContent = err.message
    return leave
  }
  const poll = async () => {
    if (isLeft) return
    try {
      const status = await api(`/api/live/viewers/${join.viewerId}/keepalive`, { method: 'POST', body: {} })
      if (status.state === 'ended') {
        stateLine.textContent = endReasons[status.endReason] ?? 'ended'
        return leave()
      }
      stateLine.textContent = status.state === 'live' ? 'live' : 'starting…'
      info.textContent = [
        status.quality === 'full' ? '' : `reduced (${status.quality})`,
        `${status.viewerCount} watching`,
      ]
        .filter(Boolean)
        .join(' · ')
    } catch (err) {
      stateLine.textContent = err.status === 404 ? 'ended' : err.message
      if (err.status === 404) leave()
    }
  }
  keepalive = setInterval(poll, 5000)
  void poll()
  const showLink = async () => {
    if (isLeft) return
    const link = await linkOf(pc).catch(() => undefined)
    if (!link) return
    stats.link = link
    linkLine.dataset.type = link.type
    linkLine.textContent = linkText(link, stats.latenciesMs.at(-1))
  }
  linkTimer = setInterval(showLink, 1000)
  void showLink()
  return leave
}

function setupTalkButton(viewerId, micTrack) {
  const button = document.getElementById('live-talk')
  button.hidden = false
  const set = async (isTalking) => {
    micTrack.enabled = isTalking
    button.classList.toggle('talking', isTalking)
    button.textContent = isTalking ? 'Talking…' : 'Hold to talk'
    await api(`/api/live/viewers/${viewerId}/talk`, { method: 'POST', body: { isTalking } }).catch(() => {})
  }
  button.addEventListener('pointerdown', () => set(true))
  button.addEventListener('pointerup', () => set(false))
  button.addEventListener('pointerleave', () => {
    if (micTrack.enabled) void set(false)
  })
}
