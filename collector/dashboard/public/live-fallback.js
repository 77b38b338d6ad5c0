// The live view's fallback player (docs/live.md, "Fallback"): fragmented MP4 over a WebSocket into Media
// Source Extensions, for a network where no WebRTC path works (all UDP blocked). The picture and, when the
// door's microphone sends, its sound: both tracks in one SourceBuffer, on one timeline the collector aligned.

/** How long the page remembers that only the fallback worked here (it then opens with it). */
const rememberFallbackMs = 10 * 60_000
const fallbackKey = 'doorbell-live-fallback-until'

/** Notes that only the fallback worked on this network, for the next 10 minutes. */
export function rememberFallback() {
  try {
    localStorage.setItem(fallbackKey, String(Date.now() + rememberFallbackMs))
  } catch {}
}

/** Whether only the fallback worked here lately: the page then opens with it, without the wait. */
export function prefersFallback() {
  try {
    return Number(localStorage.getItem(fallbackKey) ?? 0) > Date.now()
  } catch {
    return false
  }
}

/** Seconds behind the newest frame held beyond which the player jumps to it. */
const maxLagS = 0.4
/** Seconds of picture kept behind the playback position (older ones are removed from the buffer). */
const keepBehindS = 10
/**
 * Segments waiting to be appended beyond which the page gives up on the stream (the browser cannot keep
 * up): about 15 s of picture at 15 fps with its sound (50 Opus packets a second).
 */
const maxQueuedSegments = 1000

/**
 * Plays the stream at `url` (a path with its one-time ticket) in `video`. Calls `onClosed(reason)` once
 * when the stream stops by itself; `close()` stops it without calling it. `onTracks(hasAudio)` is called
 * when the stream says whether it carries sound.
 */
export function playFallback(video, url, onClosed, onTracks = () => {}) {
  const source = new MediaSource()
  const objectUrl = URL.createObjectURL(source)
  video.srcObject = null
  video.src = objectUrl
  const queue = []
  /** What tests and the benchmark read: segments received and appended, jumps to live, why it stopped. */
  const counts = { received: 0, appended: 0, jumps: 0, hasAudio: undefined, stoppedBecause: undefined }
  let buffer
  let mimeType
  let isOver = false
  const socketUrl = new URL(url, location.href)
  socketUrl.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:'
  const socket = new WebSocket(socketUrl)
  socket.binaryType = 'arraybuffer'

  const stop = (reason) => {
    if (isOver) return
    isOver = true
    counts.stoppedBecause = reason ?? 'closed'
    socket.close()
    URL.revokeObjectURL(objectUrl)
    if (reason) onClosed(reason)
  }
  // Keeps the picture at live: far behind the newest frame (a burst, a stall), jump to it.
  const followLive = () => {
    if (!buffer || buffer.buffered.length === 0) return
    const ranges = buffer.buffered
    const end = ranges.end(ranges.length - 1)
    if (end - video.currentTime > maxLagS) {
      counts.jumps += 1
      video.currentTime = Math.max(0, end - 0.05)
    } else {
      // Playback stops at a hole between ranges, which a player does not cross by itself: the sound starts
      // a little after the cached picture, and both pause while the collector drops for a backed-up link.
      const t = video.currentTime
      for (let i = 0; i < ranges.length; i += 1) {
        if (ranges.start(i) > t) {
          counts.jumps += 1
          video.currentTime = ranges.start(i)
          break
        }
        if (t < ranges.end(i) - 0.1) break
      }
    }
    const start = buffer.buffered.start(0)
    if (!buffer.updating && video.currentTime - start > 2 * keepBehindS)
      buffer.remove(start, video.currentTime - keepBehindS)
    if (video.paused) video.play().catch(() => {})
  }
  const pump = () => {
    if (isOver || !buffer || buffer.updating) return
    const next = queue.shift()
    if (next) {
      try {
        buffer.appendBuffer(next)
        counts.appended += 1
      } catch (err) {
        stop(`the picture could not be buffered (${err.name})`)
      }
      return
    }
    followLive()
  }
  const openBuffer = () => {
    if (!mimeType || source.readyState !== 'open') return
    if (!MediaSource.isTypeSupported(mimeType)) return stop(`this browser cannot play ${mimeType}`)
    if (buffer) {
      if (buffer.mimeType !== mimeType) buffer.changeType(mimeType)
      buffer.mimeType = mimeType
    } else {
      buffer = source.addSourceBuffer(mimeType)
      buffer.mimeType = mimeType
      buffer.addEventListener('updateend', pump)
    }
    pump()
  }
  source.addEventListener('sourceopen', openBuffer)
  socket.addEventListener('message', (event) => {
    if (typeof event.data === 'string') {
      const message = JSON.parse(event.data)
      if (message.type === 'init') {
        mimeType = message.mimeType
        if (counts.hasAudio === undefined) onTracks(message.hasAudio === true)
        counts.hasAudio = message.hasAudio === true
        openBuffer()
      }
      return
    }
    counts.received += 1
    queue.push(event.data)
    if (queue.length > maxQueuedSegments) return stop('the picture fell too far behind')
    pump()
  })
  socket.addEventListener('close', (event) => stop(event.reason || 'the stream closed'))
  return { counts, close: () => stop(undefined) }
}
