import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { crc32 } from 'node:zlib'
import { encodeChunk } from '../../shared/protocol/codec.js'
import { createEnvelope, type Envelope } from '../../shared/protocol/envelope.js'
import type { PayloadInputOf } from '../../shared/protocol/messages.js'
import type { RecordedClip } from './clip-recorder.js'

/** Size and digest of a clip file, and how it splits into chunks. */
export interface ClipDescription {
  readonly bytes: number
  /** sha256 of the whole file, lowercase hex. */
  readonly sha256: string
  readonly chunkBytes: number
  readonly chunkCount: number
}

/** Where one chunk lies in the file. */
export interface ChunkSpan {
  readonly index: number
  readonly offset: number
  readonly size: number
}

/** Reads a file once, streaming, for its size and sha256. */
export async function describeClipFile(path: string, chunkBytes: number): Promise<ClipDescription> {
  const hash = createHash('sha256')
  let bytes = 0
  for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 })) {
    hash.update(chunk as Buffer)
    bytes += (chunk as Buffer).length
  }
  return {
    bytes,
    sha256: hash.digest('hex'),
    chunkBytes,
    chunkCount: Math.max(1, Math.ceil(bytes / chunkBytes)),
  }
}

/** The span of chunk `index`: every chunk is chunkBytes long except the last. */
export function chunkSpan(
  description: Pick<ClipDescription, 'bytes' | 'chunkBytes'>,
  index: number,
): ChunkSpan {
  const offset = index * description.chunkBytes
  if (!Number.isInteger(index) || index < 0 || offset >= description.bytes) {
    throw new RangeError(`chunk ${index} is outside a file of ${description.bytes} bytes`)
  }
  return { index, offset, size: Math.min(description.chunkBytes, description.bytes - offset) }
}

/** Reads the body of one chunk from the clip file. */
export async function readChunk(path: string, span: ChunkSpan): Promise<Buffer> {
  const handle = await open(path, 'r')
  try {
    const data = Buffer.alloc(span.size)
    const { bytesRead } = await handle.read(data, 0, span.size, span.offset)
    if (bytesRead !== span.size) throw new Error(`${path}: short read of chunk ${span.index}`)
    return data
  } finally {
    await handle.close()
  }
}

/** The protocol's clip.manifest payload (low class): what the collector needs to reassemble and check. */
export function clipManifestPayloadOf(
  clip: Pick<RecordedClip, 'clipId' | 'relatesTo' | 'startedAtMs' | 'durationMs' | 'prerollMs' | 'hasAudio'>,
  description: ClipDescription,
): PayloadInputOf<'clip.manifest'> {
  return {
    clipId: clip.clipId,
    ...(clip.relatesTo ? { relatesTo: clip.relatesTo } : {}),
    contentType: 'video/mp4',
    startedAt: new Date(clip.startedAtMs).toISOString(),
    durationMs: clip.durationMs,
    prerollMs: clip.prerollMs,
    hasAudio: clip.hasAudio,
    bytes: description.bytes,
    sha256: description.sha256,
    chunkBytes: description.chunkBytes,
    chunkCount: description.chunkCount,
  }
}

/** What the uplink supplies to frame a chunk: identity and sequence come from the agent. */
export interface ChunkFrameInit {
  readonly deviceId: string
  readonly seq: number
  /** Envelope id of this chunk (stable across resends; see ClipUploadState.chunkId). */
  readonly id: string
  readonly clipId: string
  readonly span: ChunkSpan
  readonly data: Buffer
  readonly capturedAtMs?: number
}

/** A chunk ready to publish on the chunk topic: its envelope and the binary DBC1 frame. */
export interface ChunkFrameOut {
  readonly envelope: Envelope<'clip.chunk'>
  readonly frame: Buffer
}

/** Builds the clip.chunk envelope (CRC-32 of the body) and encodes the frame. */
export function chunkFrameOf(init: ChunkFrameInit): ChunkFrameOut {
  const envelope = createEnvelope({
    deviceId: init.deviceId,
    seq: init.seq,
    id: init.id,
    type: 'clip.chunk',
    ...(init.capturedAtMs !== undefined ? { capturedAtMs: init.capturedAtMs } : {}),
    payload: {
      clipId: init.clipId,
      index: init.span.index,
      offset: init.span.offset,
      size: init.data.length,
      crc32: crc32(init.data),
    },
  })
  return { envelope, frame: encodeChunk(envelope, init.data) }
}
