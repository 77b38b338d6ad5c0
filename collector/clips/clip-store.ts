import type { ClipManifest } from '../store/clip-record.js'

export type { ClipManifest } from '../store/clip-record.js'

/** Outcome of checking a clip whose chunks are all on disk. */
export type ClipVerdict = 'complete' | 'corrupt'

/**
 * Where clip bodies live; their records and chunk receipts are in the event store. Every implementation
 * passes test/collector/store/contracts/clip-store.contract.ts.
 */
export interface ClipStore {
  /** Writes a chunk body at its offset and makes it durable (idempotent: same bytes, same place). */
  writeChunk(deviceId: string, clipId: string, offsetBytes: number, data: Buffer): Promise<void>
  /** Checks the reassembled clip against the manifest's size and sha256; a good clip becomes final. */
  finalize(deviceId: string, manifest: ClipManifest): Promise<ClipVerdict>
  /**
   * A local file holding the finished clip (under `<dataDir>/clips/<deviceId>/<clipId>.mp4`, where the
   * dashboard serves ranges from), or undefined when the clip is not finished or is gone. A store that
   * keeps bodies elsewhere writes that file from them first.
   */
  clipFile(deviceId: string, clipId: string): Promise<string | undefined>
  /** Deletes a clip's files (retention). */
  deleteClip(deviceId: string, clipId: string): Promise<void>
  /**
   * Removes this node's local copies of clips the store no longer holds (another node swept them), and
   * returns how many; only a store whose local files are copies has it.
   */
  pruneCopies?(): Promise<number>
}
