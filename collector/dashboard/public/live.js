// The live view of one doorbell (docs/live.md): WebRTC from the collector, mute, push-to-talk, stop.
import { ApiError, api, esc } from './api.js'
import { playFallback, prefersFallback, rememberFallback } from './live-fallback.js'
import { linkOf, linkText, readTimeMark } from './live-link.js'
import { setupTalkButton } from './live-talk.js'

function iceServersFor(servers) {
  return servers.map((s) => ({ urls: s.url, username: s.username, credential: s.credential }))
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

/** Starts tried before the page gives up, and the pause between two. */
const maxAttempts = 3
const retryDelayMs = 300
/** A start that shows no picture within this long is tried again. */
const firstFrameTimeoutMs = 6000

/** A refusal worth another start: the start itself failed, not the rights or the limits. */
function isRetryable(err) {
  if (!(err instanceof ApiError)) return true // the network, or the page's own WebRTC
  return err.status === 503 || err.status === 404 || err.code === 'LIVE_SIGNAL_INVALID'
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
    attempts: 0,
    transport: 'webrtc',
  }
  window.doorbellLive = stats
  const openedAtMs = performance.now()
  let isLeft = false
  let micTrack
  /** The start running now: its viewer, peer or fallback stream, and timers. */
  let current

  const endAttempt = (attempt) => {
    if (!attempt || attempt.isOver) return
    attempt.isOver = true
    for (const timer of attempt.timers) clearInterval(timer)
    attempt.pc?.close()
    attempt.fallback?.close()
    if (attempt.viewerId) {
      // keepalive: the request outlives the page when it is closed or navigated away.
      fetch(`/api/live/viewers/${attempt.viewerId}`, {
        method: 'DELETE',
        keepalive: true,
        credentials: 'same-origin',
        headers: { 'x-csrf-token': window.doorbellCsrfToken ?? '' },
      }).catch(() => {})
    }
  }
  const leave = () => {
    if (isLeft) return
    isLeft = true
    micTrack?.stop()
    endAttempt(current)
  }
  /** A start failed before its first picture: try again, a bounded number of times, and say so. */
  const retry = (attempt, why) => {
    if (isLeft || attempt !== current || attempt.isOver) return
    endAttempt(attempt)
    if (stats.attempts >= maxAttempts) {
      stateLine.textContent = `${why}; gave up after ${maxAttempts} tries`
      linkLine.textContent = 'not connected'
      return
    }
    stateLine.textContent = `${why}; retrying (${stats.attempts + 1} of ${maxAttempts})…`
    setTimeout(() => {
      if (!isLeft) void start()
    }, retryDelayMs)
  }
  /** A start broke: before its first picture it is tried again; after, the page says why and leaves. */
  const broke = (attempt, why) => {
    if (!attempt.hasFrame) return retry(attempt, why)
    if (attempt !== current || attempt.isOver) return
    stateLine.textContent = why
    leave()
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
  const onFrame = () => {
    stats.frames += 1
    stats.firstFrameMs ??= performance.now() - openedAtMs
    if (current) current.hasFrame = true
    const ageMs = readTimeMark(video, canvas)
    if (ageMs !== undefined) stats.latenciesMs.push(ageMs)
    if (!isLeft) video.requestVideoFrameCallback(onFrame)
  }
  video.requestVideoFrameCallback(onFrame)

  /** WebRTC found no path (all UDP blocked): the picture as fragmented MP4 over a WebSocket instead. */
  const startFallback = async (attempt) => {
    if (attempt.isOver || attempt.fallback) return
    attempt.fallback = { close() {} }
    attempt.pc?.close()
    attempt.pc = undefined
    let ticket
    try {
      ticket = await api(`/api/live/viewers/${attempt.viewerId}/fallback`, { method: 'POST', body: {} })
    } catch (err) {
      return retry(attempt, err.message)
    }
    if (attempt.isOver) return
    attempt.fallback = playFallback(
      video,
      ticket.url,
      (why) => broke(attempt, why),
      (hasAudio) => {
        info.textContent = `No UDP path: ${hasAudio ? 'picture and sound' : 'video only'} over the fallback, no talk.`
      },
    )
    stats.fallback = attempt.fallback.counts
    attempt.firstFrameBy = performance.now() + firstFrameTimeoutMs
    stats.transport = 'mse'
    stats.link = { type: 'mse', transport: 'WebSocket' }
    linkLine.dataset.type = 'mse'
    document.getElementById('live-talk').hidden = true
    rememberFallback()
  }

  const start = async () => {
    stats.attempts += 1
    const attempt = {
      timers: [],
      isOver: false,
      hasFrame: false,
      firstFrameBy: performance.now() + firstFrameTimeoutMs,
    }
    current = attempt
    stats.transport = 'webrtc'
    let join
    try {
      join = await api(`/api/live/${encodeURIComponent(deviceId)}/viewers`, { method: 'POST', body: {} })
    } catch (err) {
      if (isRetryable(err)) return retry(attempt, err.message)
      stateLine.textContent = err.message
      return
    }
    attempt.viewerId = join.viewerId
    stats.viewerId = join.viewerId
    if (isLeft) return endAttempt(attempt)
    attempt.timers.push(
      setInterval(() => {
        if (!attempt.hasFrame && performance.now() > attempt.firstFrameBy) retry(attempt, 'no picture')
      }, 250),
    )
    const poll = async () => {
      if (attempt.isOver) return
      try {
        const status = await api(`/api/live/viewers/${join.viewerId}/keepalive`, { method: 'POST', body: {} })
        if (status.state === 'ended') return broke(attempt, endReasons[status.endReason] ?? 'ended')
        stateLine.textContent = status.state === 'live' ? 'live' : 'starting…'
        const fallbackNote = stats.transport === 'mse' ? info.textContent.split(' · ')[0] : ''
        info.textContent = [
          stats.transport === 'mse' ? fallbackNote : '',
          status.quality === 'full' ? '' : `reduced (${status.quality})`,
          `${status.viewerCount} watching`,
        ]
          .filter(Boolean)
          .join(' · ')
      } catch (err) {
        if (err.status === 404) broke(attempt, 'ended')
      }
    }
    attempt.timers.push(setInterval(poll, 5000))
    const showLink = async () => {
      if (attempt.isOver) return
      if (stats.transport === 'mse') {
        const behind = stats.latenciesMs.at(-1)
        linkLine.textContent = linkText({ type: 'mse', transport: 'WebSocket' }, behind)
        return
      }
      const link = attempt.pc ? await linkOf(attempt.pc).catch(() => undefined) : undefined
      if (!link) return
      stats.link = link
      linkLine.dataset.type = link.type
      linkLine.textContent = linkText(link, stats.latenciesMs.at(-1))
    }
    attempt.timers.push(setInterval(showLink, 1000))
    const canFallBack = join.fallbackAfterMs !== undefined
    if (canFallBack && prefersFallback()) {
      void poll()
      return startFallback(attempt)
    }
    if (canFallBack) {
      // No path at all (every UDP blocked): the peer fails, or has not connected by then.
      attempt.timers.push(
        setTimeout(() => {
          // Checks that found a path but have not finished the handshake yet are slow, not blocked.
          if (!attempt.hasIcePath && attempt.pc?.connectionState !== 'connected') void startFallback(attempt)
        }, join.fallbackAfterMs),
      )
      attempt.firstFrameBy = Math.max(attempt.firstFrameBy, performance.now() + join.fallbackAfterMs + 1000)
    }
    try {
      await startWebRtc(attempt, join, canFallBack ? () => startFallback(attempt) : undefined)
    } catch (err) {
      if (attempt.isOver) return
      if (isRetryable(err)) return retry(attempt, err.message)
      stateLine.textContent = err.message
      return
    }
    void poll()
    void showLink()
  }

  const startWebRtc = async (attempt, join, onFailed) => {
    const pc = new RTCPeerConnection({ iceServers: iceServersFor(join.iceServers) })
    attempt.pc = pc
    stats.pc = pc
    pc.addEventListener('iceconnectionstatechange', () => {
      if (pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed')
        attempt.hasIcePath = true
    })
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState !== 'failed' || attempt.pc !== pc) return
      // No path found: the fallback. A path that then failed (DTLS, a dropped peer): another start.
      if (!attempt.hasIcePath && onFailed) onFailed()
      else broke(attempt, 'the connection failed')
    })
    const remote = new MediaStream()
    video.srcObject = remote
    pc.addEventListener('track', (e) => {
      if (e.track.kind === 'video' || e.track.kind === 'audio') remote.addTrack(e.track)
    })
    await pc.setRemoteDescription({ type: 'offer', sdp: join.sdp })
    if (join.canTalk) {
      try {
        micTrack ??= (await navigator.mediaDevices.getUserMedia({ audio: true })).getAudioTracks()[0]
        micTrack.enabled = false
        const talk = pc.getTransceivers().find((t) => t.mid === 'talk')
        if (talk && micTrack) {
          await talk.sender.replaceTrack(micTrack)
          talk.direction = 'sendonly'
          setupTalkButton(() => current?.viewerId, micTrack)
        }
      } catch {
        info.textContent = 'No microphone: talk is off.'
      }
    }
    // The collector has the whole answer before this browser sends its first check. libdatachannel gives its
    // ICE agent the answer's credentials a moment before it records the answer's DTLS fingerprint; a browser
    // already checking connects in that gap, its handshake finds no fingerprint to match, and the peer fails
    // (a later answer then finds no ICE transport). So the answer goes without candidates: the collector
    // learns this browser's addresses from its checks (peer-reflexive), as it does through a NAT.
    const answer = await pc.createAnswer()
    await api(`/api/live/viewers/${join.viewerId}/answer`, { method: 'POST', body: { sdp: answer.sdp } })
    if (attempt.isOver || attempt.pc !== pc) return
    await pc.setLocalDescription(answer)
  }

  await start()
  return leave
}
