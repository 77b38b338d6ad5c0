import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { describeClipFile } from '../../../agent/media/clip-chunker.js'
import { ClipUploadState } from '../../../agent/media/clip-upload-state.js'
import { isDoorbellError } from '../../../shared/errors.js'
import { newEventId } from '../../../shared/protocol/index.js'

const KiB = 1024
let dir: string
let clipPath: string
let statePath: string

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'doorbell-upload-'))
  clipPath = join(dir, `${newEventId()}.mp4`)
  statePath = ClipUploadState.pathFor(clipPath)
  writeFileSync(clipPath, randomBytes(5 * 64 * KiB + 10))
})

afterEach(() => rmSync(dir, { recursive: true, force: true }))

async function newPlan() {
  return ClipUploadState.create(statePath, newEventId(), await describeClipFile(clipPath, 64 * KiB))
}

describe('ClipUploadState', () => {
  it('plans every chunk once, lowest first, then nothing while all are in flight', async () => {
    const plan = await newPlan()
    const indexes: number[] = []
    for (let next = plan.nextChunk(); next; next = plan.nextChunk()) indexes.push(next.index)
    expect(indexes).toEqual([0, 1, 2, 3, 4, 5])
    plan.releaseInFlight()
    expect(plan.nextChunk()?.index).toBe(0)
  })

  it('resumes after a restart at the first chunk not acknowledged, under the same envelope ids', async () => {
    const plan = await newPlan()
    const first = [plan.nextChunk(), plan.nextChunk(), plan.nextChunk(), plan.nextChunk()]
    await plan.markAcked(0)
    await plan.markAcked(1)
    await plan.markAcked(3)
    await plan.markManifestAcked()
    // "Restart": a new instance reads the file; what was in flight is sent again.
    const resumed = await ClipUploadState.open(statePath)
    expect(resumed.ackedCount).toBe(3)
    expect(resumed.isManifestAcked).toBe(true)
    const next = resumed.nextChunk()
    expect(next?.index).toBe(2)
    expect(next?.id).toBe(first[2]?.id)
    expect(resumed.nextChunk()?.index).toBe(4)
    expect(resumed.indexOfChunkId(first[3]?.id as string)).toBe(3)
  })

  it('on a clip.resend plans every chunk again under new ids, once per attempt, and keeps it across a restart', async () => {
    const plan = await newPlan()
    const firstIds = Array.from({ length: plan.chunkCount }, (_, i) => plan.chunkId(i))
    for (let i = 0; i < plan.chunkCount; i += 1) await plan.markAcked(i)
    await plan.markManifestAcked()
    expect(plan.isComplete).toBe(true)

    expect(await plan.restartForResend(1)).toBe(true)
    expect(plan.isComplete).toBe(false)
    expect(plan.isManifestAcked).toBe(true)
    expect(plan.ackedCount).toBe(0)
    // An ack of a copy sent before the request names an old id: it cannot count for the new upload.
    expect(firstIds.map((id) => plan.indexOfChunkId(id))).toEqual(firstIds.map(() => undefined))
    await plan.markAcked(0)
    const secondIds = Array.from({ length: plan.chunkCount }, (_, i) => plan.chunkId(i))
    expect(await plan.restartForResend(1)).toBe(false) // delivered twice: acted on once
    expect(plan.ackedCount).toBe(1)

    const resumed = await ClipUploadState.open(statePath)
    expect(resumed.resendAttempt).toBe(1)
    expect(resumed.ackedCount).toBe(1)
    expect(resumed.chunkId(3)).toBe(secondIds[3])
    expect(resumed.nextChunk()?.index).toBe(1)
  })

  it('remembers the collector’s verification, and reads state files written before it existed', async () => {
    const plan = await newPlan()
    expect(plan.isVerified).toBe(false)
    await plan.markVerified()
    expect((await ClipUploadState.open(statePath)).isVerified).toBe(true)
    // A v1 file from before verification and resends existed: no isVerified, no resendAttempt.
    const { phase: _p, resendAttempt: _r, ...rest } = JSON.parse(readFileSync(statePath, 'utf8'))
    writeFileSync(statePath, JSON.stringify({ ...rest, v: 1, isManifestAcked: false, isFailed: false }))
    const old = await ClipUploadState.open(statePath)
    expect([old.isVerified, old.resendAttempt]).toEqual([false, 0])
  })

  it('is complete only when every chunk and the manifest are acknowledged', async () => {
    const plan = await newPlan()
    for (let i = 0; i < plan.chunkCount; i += 1) await plan.markAcked(i)
    expect(plan.isComplete).toBe(false)
    await plan.markManifestAcked()
    expect(plan.isComplete).toBe(true)
    expect((await ClipUploadState.open(statePath)).isComplete).toBe(true)
    expect(plan.nextChunk()).toBeUndefined()
  })

  it('sends a chunk rejected with retry again, and gives up after too many rejections', async () => {
    const plan = await ClipUploadState.create(
      statePath,
      newEventId(),
      await describeClipFile(clipPath, 64 * KiB),
      { maxRejects: 2 },
    )
    expect(plan.nextChunk()?.index).toBe(0)
    await plan.markRejected(0)
    expect(plan.nextChunk()?.index).toBe(0)
    await plan.markRejected(0)
    await plan.markRejected(0)
    expect(plan.isFailed).toBe(true)
    expect(plan.nextChunk()).toBeUndefined()
    expect((await ClipUploadState.open(statePath)).isFailed).toBe(true)
  })

  it('fails the clip at once on a rejection without retry', async () => {
    const plan = await newPlan()
    await plan.markRejected(3, { retry: false })
    expect(plan.isFailed).toBe(true)
  })

  it('writes atomically: no temp file is left behind', async () => {
    const plan = await newPlan()
    await Promise.all([plan.markAcked(0), plan.markAcked(1), plan.markAcked(2)])
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([])
    expect((await ClipUploadState.open(statePath)).ackedCount).toBe(3)
  })

  it('reads a state file in the v1 shape, booleans instead of a phase, and writes it back as v2', async () => {
    const clipId = newEventId()
    const description = await describeClipFile(clipPath, 64 * KiB)
    const chunkIds = Array.from({ length: description.chunkCount }, () => newEventId())
    type V1Flags = { isManifestAcked: boolean; isFailed: boolean; isVerified?: boolean }
    const v1 = (flags: V1Flags) => ({
      v: 1,
      clipId,
      ...description,
      chunkIds,
      acked: [0, 2],
      rejects: { '1': 2 },
      resendAttempt: 1,
      ...flags,
    })
    const cases: [V1Flags, string][] = [
      [{ isManifestAcked: false, isFailed: false }, 'announcing'],
      [{ isManifestAcked: true, isFailed: false }, 'uploading'],
      [{ isManifestAcked: true, isFailed: false, isVerified: false }, 'uploading'],
      [{ isManifestAcked: true, isFailed: true, isVerified: false }, 'failed'],
      [{ isManifestAcked: true, isFailed: false, isVerified: true }, 'verified'],
    ]
    for (const [flags, phase] of cases) {
      writeFileSync(statePath, JSON.stringify(v1(flags)))
      const plan = await ClipUploadState.open(statePath)
      expect(plan.phase).toBe(phase)
      expect(plan.isManifestAcked).toBe(flags.isManifestAcked)
      expect(plan.isFailed).toBe(flags.isFailed)
      expect(plan.isVerified).toBe(flags.isVerified === true)
      expect(plan.ackedCount).toBe(2)
      expect(plan.resendAttempt).toBe(1)
      expect(plan.chunkId(3)).toBe(chunkIds[3])
    }
    const plan = await ClipUploadState.open(statePath)
    await plan.markAcked(1)
    const written = JSON.parse(readFileSync(statePath, 'utf8')) as Record<string, unknown>
    expect(written).toMatchObject({ v: 2, phase: 'verified', acked: [0, 1, 2] })
    expect(written).not.toHaveProperty('isVerified')
  })

  it('refuses a torn or foreign state file with CLIP_STATE_INVALID', async () => {
    writeFileSync(statePath, '{"v":1,"clipId":')
    await expect(ClipUploadState.open(statePath)).rejects.toSatisfy((e) =>
      isDoorbellError(e, 'CLIP_STATE_INVALID'),
    )
    rmSync(statePath)
    expect(existsSync(statePath)).toBe(false)
    await expect(ClipUploadState.open(statePath)).rejects.toSatisfy((e) =>
      isDoorbellError(e, 'CLIP_STATE_INVALID'),
    )
  })
})
