/**
 * Key layout of the Level store. Event ids are ULIDs, so every index sorts by capture time.
 *   e!<id>                 the stored event (JSON); also the deduplication index
 *   d!<deviceId>!<id>      by device and time
 *   c!<class>!<id>         by class and time (retention sweeps walk it)
 *   k!<chunkId>            chunk receipt (deduplication of clip chunks); deleted with its clip
 *   kc!<clipId>!<index>    chunk indexes on disk per clip
 *   clip!<clipId>          clip record (level-clip-codec.ts reads the shapes of every version)
 *   cr!<deviceId>!<clipId> clips awaiting a resend from their device (asked again when it reconnects)
 * '!' sorts below every ULID and id character, so a prefix range never leaks into a longer prefix.
 */

/** The stored event; also the deduplication index. */
export const eventKey = (id: string): string => `e!${id}`
/** Index by device and time. */
export const deviceKey = (deviceId: string, id: string): string => `d!${deviceId}!${id}`
/** Index by class and time (retention walks it). */
export const classKey = (eventClass: string, id: string): string => `c!${eventClass}!${id}`
/** Receipt of a clip chunk (its deduplication). */
export const chunkKey = (id: string): string => `k!${id}`
/** Chunk indexes on disk per clip; the index is zero-padded so keys sort numerically. */
export const clipChunkKey = (clipId: string, index: number): string =>
  `kc!${clipId}!${String(index).padStart(8, '0')}`
/** The prefix of every clipChunkKey of a clip. */
export const clipChunkPrefix = (clipId: string): string => `kc!${clipId}!`
/** Clip record. */
export const clipKey = (clipId: string): string => `clip!${clipId}`
/** A clip awaiting a resend from its device; the value is empty. */
export const resendKey = (deviceId: string, clipId: string): string => `cr!${deviceId}!${clipId}`
