// What the live page shows under the picture: the connection in use and how far behind live it is.

/** Block size of the simulated camera's time mark for a frame width (shared/live/time-mark.ts). */
function markBlockPx(width) {
  return Math.max(4, Math.min(16, 2 * Math.floor(width / 96)))
}

/** Reads the simulated camera's capture-time mark from a decoded frame; undefined when there is none. */
export function readTimeMark(video, canvas) {
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
export async function linkOf(pc) {
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
  mse: 'fallback (no UDP path)',
}

/** The indicator's text: connection type, transport, round trip, and how far behind live the picture is. */
export function linkText(link, latencyMs) {
  return [
    `${linkNames[link.type] ?? link.type} · ${link.transport}`,
    link.rttMs !== undefined ? `RTT ${Math.round(link.rttMs)} ms` : '',
    latencyMs !== undefined ? `${Math.round(latencyMs)} ms behind` : '',
  ]
    .filter(Boolean)
    .join(' · ')
}
