import type { PayloadOf } from '../../shared/protocol/index.js'

/** The manifest payload of a clip. */
export type ClipManifest = PayloadOf<'clip.manifest'>

/**
 * Where a clip stands:
 * - `receiving`: the manifest arrived; chunks are coming in (or all are in and the check is pending);
 * - `awaiting-resend`: every chunk arrived but the reassembled file failed the manifest's size or sha256
 *   check; its receipts and partial file were dropped and the device was asked (`clip.resend`) again;
 * - `complete`: every chunk is on disk and the whole file matched the manifest: playable;
 * - `corrupt`: given up, with the reason as data (see ClipCorruptReason).
 */
export type ClipState = 'receiving' | 'awaiting-resend' | 'complete' | 'corrupt'

/**
 * Why a clip was given up: `check-failed` (the file failed its check and no resend is allowed any more)
 * or `gone-from-device` (the device answered `clip.unavailable`: it no longer holds the clip).
 */
export type ClipCorruptReason = 'check-failed' | 'gone-from-device'

interface ClipFields {
  readonly clipId: string
  readonly deviceId: string
  /** The id of the clip.manifest envelope the record was made from. */
  readonly manifestId: string
  readonly manifest: ClipManifest
  /** `clip.resend` requests made so far; also the attempt number of the latest (0: first upload). */
  readonly resendCount: number
}

/** Metadata of a clip: its manifest and where it stands. Chunk receipts are kept beside it. */
export type ClipRecord = ClipFields &
  (
    | { readonly state: 'receiving' | 'awaiting-resend' | 'complete' }
    | { readonly state: 'corrupt'; readonly corruptReason: ClipCorruptReason }
  )

/** The record a newly stored clip.manifest starts its clip with. */
export function newClipRecord(deviceId: string, manifestId: string, manifest: ClipManifest): ClipRecord {
  return { clipId: manifest.clipId, deviceId, manifestId, manifest, resendCount: 0, state: 'receiving' }
}

/** The record with a new state; the corrupt reason goes with the corrupt state only. */
export function withClipState(
  record: ClipRecord,
  change:
    | { readonly state: 'receiving' | 'awaiting-resend' | 'complete'; readonly resendCount?: number }
    | { readonly state: 'corrupt'; readonly corruptReason: ClipCorruptReason },
): ClipRecord {
  const { clipId, deviceId, manifestId, manifest, resendCount } = record
  const base = { clipId, deviceId, manifestId, manifest, resendCount }
  return change.state === 'corrupt'
    ? { ...base, state: 'corrupt', corruptReason: change.corruptReason }
    : { ...base, state: change.state, resendCount: change.resendCount ?? resendCount }
}

/** True while the clip may still become complete (its check has not succeeded or been given up). */
export function isClipOpen(record: ClipRecord): boolean {
  switch (record.state) {
    case 'receiving':
    case 'awaiting-resend':
      return true
    case 'complete':
    case 'corrupt':
      return false
    default:
      return assertNever(record)
  }
}

/** Compile-time exhaustiveness: a new state added to the union fails every switch that forgets it. */
export function assertNever(value: never): never {
  throw new TypeError(`unexpected clip state ${JSON.stringify(value)}`)
}
