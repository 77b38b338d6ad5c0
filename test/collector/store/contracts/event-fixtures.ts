import { ulid } from 'ulid'
import type { ChunkReceipt, StoredEvent } from '../../../../collector/store/event-store.js'
import { createEnvelope } from '../../../../shared/protocol/index.js'

/** Fixtures of the event store suites: every id is a ULID of the time given, so order is by time. */

/** Midnight 2026-01-01 UTC, the origin of fixture times. */
export const baseMs = Date.UTC(2026, 0, 1)
export const DAY_MS = 86_400_000

/** A stored press (high class) captured at atMs. */
export function pressAt(deviceId: string, seq: number, atMs: number): StoredEvent {
  const envelope = createEnvelope({
    deviceId,
    seq,
    id: ulid(atMs),
    capturedAtMs: atMs,
    type: 'button.press',
    payload: {},
  })
  return { ...envelope, receivedAtMs: atMs + 5 }
}

/** A stored temperature reading (medium class) captured at atMs. */
export function readingAt(deviceId: string, seq: number, atMs: number, celsius = 20): StoredEvent {
  const envelope = createEnvelope({
    deviceId,
    seq,
    id: ulid(atMs),
    capturedAtMs: atMs,
    type: 'temperature',
    payload: { celsius, sensor: 's' },
  })
  return { ...envelope, receivedAtMs: atMs + 5 }
}

/** A stored snapshot (medium class) captured at atMs, enriching relatesTo when given. */
export function snapshotAt(deviceId: string, seq: number, atMs: number, relatesTo?: string): StoredEvent {
  const jpeg = Buffer.from([0xff, 0xd8, 0xff, seq & 0xff])
  const envelope = createEnvelope({
    deviceId,
    seq,
    id: ulid(atMs),
    capturedAtMs: atMs,
    type: 'snapshot',
    payload: {
      ...(relatesTo ? { relatesTo } : {}),
      contentType: 'image/jpeg',
      bytes: jpeg.length,
      sha256: 'a'.repeat(64),
      data: jpeg.toString('base64'),
    },
  })
  return { ...envelope, receivedAtMs: atMs + 5 }
}

/** A clip started at atMs: its manifest (minted 10 s later) and the receipts of its chunks. */
export function clipAt(
  deviceId: string,
  atMs: number,
  chunkCount: number,
  relatesTo?: string,
): { clipId: string; manifest: StoredEvent; chunks: ChunkReceipt[] } {
  const clipId = ulid(atMs)
  const envelope = createEnvelope({
    deviceId,
    seq: 1,
    id: ulid(atMs + 10_000),
    capturedAtMs: atMs + 10_000,
    type: 'clip.manifest',
    payload: {
      clipId,
      ...(relatesTo ? { relatesTo } : {}),
      contentType: 'video/mp4',
      startedAt: new Date(atMs).toISOString(),
      durationMs: 10_000,
      prerollMs: 0,
      hasAudio: false,
      bytes: chunkCount * 10,
      sha256: 'b'.repeat(64),
      chunkBytes: 10,
      chunkCount,
    },
  })
  const chunks = Array.from({ length: chunkCount }, (_, index) => ({
    id: ulid(atMs + 11_000 + index),
    deviceId,
    clipId,
    index,
    size: 10,
  }))
  return { clipId, manifest: { ...envelope, receivedAtMs: atMs + 10_005 }, chunks }
}

/** The store key of an event or receipt. */
export const keyOf = (item: { deviceId: string; id: string }) => ({ deviceId: item.deviceId, id: item.id })
