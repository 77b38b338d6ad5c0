// Push-to-talk on the live page (docs/live.md, "Talk"): the microphone track is sent only while held.
import { api } from './api.js'

/** Push-to-talk; `viewerId()` is the viewer of the start running now (a retry makes a new one). */
export function setupTalkButton(viewerId, micTrack) {
  const button = document.getElementById('live-talk')
  button.hidden = false
  if (button.dataset.isSetUp) return
  button.dataset.isSetUp = 'yes'
  const set = async (isTalking) => {
    micTrack.enabled = isTalking
    button.classList.toggle('talking', isTalking)
    button.textContent = isTalking ? 'Talking…' : 'Hold to talk'
    await api(`/api/live/viewers/${viewerId()}/talk`, { method: 'POST', body: { isTalking } }).catch(() => {})
  }
  button.addEventListener('pointerdown', () => set(true))
  button.addEventListener('pointerup', () => set(false))
  button.addEventListener('pointerleave', () => {
    if (micTrack.enabled) void set(false)
  })
}
