import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  chunkFrameOf,
  chunkSpan,
  clipManifestPayloadOf,
  describeClipFile,
  readChunk,
} from '../../../agent/media/clip-chunker.js'
import { isDoorbellError } from '../../../shared/errors.js'
import { createEnvelope, decodeChunk, encodeEvent, newEventId } from '../../../shared/protocol/index.js'

const KiB = 1024
let dir: string
let clipPath: string
let content: Buffer

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'doorbell-chunker-'))
  clipPath = join(dir, 'clip.mp4')
  content = randomBytes(700 * KiB + 1234)
  writeFileSync(clipPath, content)
})

afterEach(() => rmSync(dir, { recursive: true, force: true }))

async function framesOf(chunkBytes: number) {
  const description = await describeClipFile(clipPath, chunkBytes)
  const clipId = newEventId()
  const frames: Buffer[] = []
  for (let index = 0; index < description.chunkCount; index += 1) {
    const span = chunkSpan(description, index)
    const data = await readChunk(clipPath, span)
    frames.push(
      chunkFrameOf({ deviceId: 'front-door', seq: 10 + index, id: newEventId(), clipId, span, data }).frame,
    )
  }
  return { description, clipId, frames }
}

describe('clip chunking', () => {
  it('describes the file: size, sha256 and chunk count', async () => {
    const description = await describeClipFile(clipPath, 128 * KiB)
    expect(description.bytes).toBe(content.length)
    expect(description.sha256).toBe(createHash('sha256').update(content).digest('hex'))
    expect(description.chunkCount).toBe(Math.ceil(content.length / (128 * KiB)))
  })

  it.each([64 * KiB, 128 * KiB, 256 * KiB])(
    'reassembles byte-identical from %i-byte chunks',
    async (chunkBytes) => {
      const { description, frames } = await framesOf(chunkBytes)
      const decoded = frames.map((frame) => decodeChunk(frame, { deviceId: 'front-door', eventClass: 'low' }))
      const sorted = decoded.sort((a, b) => a.envelope.payload.index - b.envelope.payload.index)
      const file = Buffer.concat(sorted.map((c) => c.data))
      expect(createHash('sha256').update(file).digest('hex')).toBe(description.sha256)
      expect(sorted.every((c, i) => c.envelope.payload.offset === i * chunkBytes)).toBe(true)
    },
  )

  it('a chunk corrupted in transit fails its CRC-32', async () => {
    const { frames } = await framesOf(64 * KiB)
    const frame = Buffer.from(frames[1] as Buffer)
    const last = frame.length - 1
    frame[last] = (frame[last] as number) ^ 0x01
    let caught: unknown
    try {
      decodeChunk(frame)
    } catch (err) {
      caught = err
    }
    expect(isDoorbellError(caught, 'PROTOCOL_MALFORMED')).toBe(true)
    expect((caught as { details: { field: string } }).details.field).toBe('payload.crc32')
  })

  it('builds a clip.manifest the protocol accepts (low class)', async () => {
    const description = await describeClipFile(clipPath, 128 * KiB)
    const payload = clipManifestPayloadOf(
      {
        clipId: newEventId(),
        relatesTo: newEventId(),
        startedAtMs: Date.now() - 15_000,
        durationMs: 15_000,
        prerollMs: 5000,
        hasAudio: true,
      },
      description,
    )
    const envelope = createEnvelope({ deviceId: 'front-door', seq: 3, type: 'clip.manifest', payload })
    expect(envelope.class).toBe('low')
    expect(() => encodeEvent(envelope)).not.toThrow()
  })

  it('refuses a chunk index past the end', async () => {
    const description = await describeClipFile(clipPath, 256 * KiB)
    expect(() => chunkSpan(description, description.chunkCount)).toThrow(RangeError)
    expect(chunkSpan(description, description.chunkCount - 1).size).toBe(content.length % (256 * KiB))
  })
})
