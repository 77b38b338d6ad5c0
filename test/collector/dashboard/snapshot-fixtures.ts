import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { ulid } from 'ulid'
import { createEnvelope, type Envelope } from '../../../shared/protocol/index.js'

/**
 * A JPEG the size of a real camera snapshot: ffmpeg's test pattern with sensor-like noise, at the agent's
 * snapshot quality (mjpeg q 4). At 1280x720 it is about 130 KB, in the range of a Pi camera's frame.
 */
export function cameraJpeg(options: { widthPx?: number; heightPx?: number; seed?: number } = {}): Buffer {
  const size = `${options.widthPx ?? 1280}x${options.heightPx ?? 720}`
  const filter = `testsrc2=size=${size},noise=alls=16:allf=t+u:all_seed=${options.seed ?? 1}`
  return execFileSync(
    'ffmpeg',
    [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      filter,
      '-frames:v',
      '1',
      '-q:v',
      '4',
      '-c:v',
      'mjpeg',
      '-f',
      'image2pipe',
      '-',
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  )
}

/** A JPEG-framed body (SOI, `bodyBytes` random bytes, EOI): a snapshot's size on the wire without ffmpeg. */
export function noiseJpeg(bodyBytes: number): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xd8]), randomBytes(bodyBytes), Buffer.from([0xff, 0xd9])])
}

/** A snapshot envelope of `deviceId` carrying `jpeg`, relating to `relatesTo`, captured at atMs. */
export function snapshotEnvelope(
  deviceId: string,
  seq: number,
  jpeg: Buffer,
  options: { relatesTo?: string; atMs?: number } = {},
): Envelope<'snapshot'> {
  const atMs = options.atMs ?? Date.now()
  return createEnvelope({
    deviceId,
    seq,
    id: ulid(atMs),
    capturedAtMs: atMs,
    type: 'snapshot',
    payload: {
      ...(options.relatesTo ? { relatesTo: options.relatesTo } : {}),
      contentType: 'image/jpeg',
      bytes: jpeg.length,
      sha256: createHash('sha256').update(jpeg).digest('hex'),
      data: jpeg.toString('base64'),
    },
  })
}

/** A press envelope of `deviceId` captured at atMs. */
export function pressAt(deviceId: string, seq: number, atMs: number): Envelope<'button.press'> {
  return createEnvelope({
    deviceId,
    seq,
    id: ulid(atMs),
    capturedAtMs: atMs,
    type: 'button.press',
    payload: {},
  })
}
