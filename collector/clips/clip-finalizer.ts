import { isClipOpen, withClipState } from '../store/clip-record.js'
import type { EventStore } from '../store/event-store.js'
import type { ClipStore, ClipVerdict } from './clip-store.js'

/**
 * Once a clip's manifest and all its chunks are stored, checks the reassembled file against the manifest
 * (size, sha256). A complete clip is recorded as such here; a corrupt one is left for the caller to
 * recover or give up on (ClipRecovery). Idempotent: a finished clip is left alone. Returns undefined
 * while the clip is still incomplete, already finished, or given up.
 */
export async function finalizeClipIfComplete(
  store: EventStore,
  clips: ClipStore,
  deviceId: string,
  clipId: string,
): Promise<ClipVerdict | undefined> {
  const clip = await store.getClip(clipId)
  if (!clip || clip.deviceId !== deviceId || !isClipOpen(clip)) return undefined
  const indexes = await store.listChunkIndexes(clipId)
  if (indexes.length < clip.manifest.chunkCount) return undefined
  const verdict = await clips.finalize(deviceId, clip.manifest)
  if (verdict === 'complete') await store.saveClip(withClipState(clip, { state: 'complete' }))
  return verdict
}
