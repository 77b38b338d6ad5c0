import type { EventStore } from '../store/event-store.js'
import type { ClipStore, ClipVerdict } from './clip-store.js'

/**
 * Once a clip's manifest and all its chunks are stored, checks the reassembled file against the manifest
 * (size, sha256) and records the verdict. Idempotent: a finished clip is left alone, and two concurrent
 * calls reach the same verdict. Returns undefined while the clip is still incomplete.
 */
export async function finalizeClipIfComplete(
  store: EventStore,
  clips: ClipStore,
  deviceId: string,
  clipId: string,
): Promise<ClipVerdict | undefined> {
  const clip = await store.getClip(clipId)
  if (!clip?.manifest || clip.isComplete || clip.deviceId !== deviceId) return undefined
  const indexes = await store.listChunkIndexes(clipId)
  if (indexes.length < clip.manifest.chunkCount) return undefined
  const verdict = await clips.finalize(deviceId, clip.manifest)
  await store.commit({
    events: [],
    chunks: [],
    clips: [
      { ...clip, isComplete: verdict === 'complete', ...(verdict === 'corrupt' ? { isCorrupt: true } : {}) },
    ],
  })
  return verdict
}
