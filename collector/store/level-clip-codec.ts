import type { ClipManifest, ClipRecord } from './clip-record.js'

/**
 * A clip record as versions before the `state` union wrote it into Level: four booleans, of which the
 * writer only ever set consistent combinations. Such records stay in stores that were running before the
 * upgrade (a clip awaiting its resend across it, and every clip kept by retention), so they are converted
 * on read rather than by a migration pass.
 */
interface LegacyClipRecord {
  readonly clipId: string
  readonly deviceId: string
  readonly manifestId?: string
  readonly manifest?: ClipManifest
  readonly isComplete: boolean
  readonly isAwaitingResend?: boolean
  readonly resendCount?: number
  readonly isCorrupt?: boolean
  readonly isGoneFromDevice?: boolean
}

/** The stored form of a record (the record itself, as JSON). */
export function encodeClipRecord(record: ClipRecord): string {
  return JSON.stringify(record)
}

/**
 * Reads a stored record, in the current shape or the legacy boolean one. A legacy record without its
 * manifest cannot be played or checked; the writer never made one (records come from manifests), so it
 * is read as undefined, the same as no record.
 */
export function decodeClipRecord(value: string): ClipRecord | undefined {
  const parsed = JSON.parse(value) as ClipRecord | LegacyClipRecord
  if ('state' in parsed) return parsed
  return fromLegacy(parsed)
}

function fromLegacy(old: LegacyClipRecord): ClipRecord | undefined {
  if (!old.manifest || !old.manifestId) return undefined
  const base = {
    clipId: old.clipId,
    deviceId: old.deviceId,
    manifestId: old.manifestId,
    manifest: old.manifest,
    resendCount: old.resendCount ?? 0,
  }
  // Precedence follows what the old code checked first: a corrupt flag ends the clip whatever else is set.
  if (old.isCorrupt) {
    return {
      ...base,
      state: 'corrupt',
      corruptReason: old.isGoneFromDevice ? 'gone-from-device' : 'check-failed',
    }
  }
  if (old.isComplete) return { ...base, state: 'complete' }
  if (old.isAwaitingResend) return { ...base, state: 'awaiting-resend' }
  return { ...base, state: 'receiving' }
}
