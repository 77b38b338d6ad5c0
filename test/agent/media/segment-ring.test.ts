import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FsSegmentRing, type Segment } from '../../../agent/media/segment-ring.js'
import { newEventId } from '../../../shared/protocol/index.js'

let dir: string
let nowMs: number
let listed: string[]

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'doorbell-ring-'))
  nowMs = 1_000_000
  listed = []
})

afterEach(() => rmSync(dir, { recursive: true, force: true }))

function newRing(maxSegments = 3, maxBytes = 1_000_000): FsSegmentRing {
  return new FsSegmentRing({ dir, limits: { maxSegments, maxBytes }, pollMs: 1000, nowMs: () => nowMs })
}

/** Plays ffmpeg's part: writes segment `index` (1 s long) and appends it to the (bounded) CSV list. */
function closeSegment(index: number, bytes = 100): void {
  const name = `seg-${String(index).padStart(6, '0')}.ts`
  writeFileSync(join(dir, name), Buffer.alloc(bytes))
  listed.push(`${name},${index}.000000,${index + 1}.000000`)
  writeFileSync(join(dir, 'segments.csv'), `${listed.slice(-20).join('\n')}\n`)
  nowMs += 1000
}

function segmentFiles(): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.ts'))
}

describe('FsSegmentRing', () => {
  it('adopts closed segments with their wall-clock span and tells listeners', () => {
    const ring = newRing()
    ring.start()
    const seen: Segment[] = []
    ring.onSegment((s) => seen.push(s))
    closeSegment(0)
    ring.poll()
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({ index: 0, bytes: 100, endedAtMs: nowMs, startedAtMs: nowMs - 1000 })
    ring.stop()
  })

  it('dates segments by their stream time, so a late poll (busy event loop) does not make them look newer', () => {
    const ring = newRing(10)
    ring.start()
    closeSegment(0)
    ring.poll()
    const t0 = nowMs
    closeSegment(1)
    closeSegment(2)
    nowMs += 3000 // the poll comes 3 s late
    ring.poll()
    expect(ring.segments().map((s) => s.endedAtMs)).toEqual([t0, t0 + 1000, t0 + 2000])
    ring.stop()
  })

  it('keeps at most maxSegments, deleting the oldest files', () => {
    const ring = newRing(3)
    ring.start()
    for (let i = 0; i < 6; i += 1) {
      closeSegment(i)
      ring.poll()
    }
    expect(ring.segments().map((s) => s.index)).toEqual([3, 4, 5])
    expect(segmentFiles().sort()).toEqual(['seg-000003.ts', 'seg-000004.ts', 'seg-000005.ts'])
    expect(ring.stats().evicted).toBe(3)
    ring.stop()
  })

  it('bounds bytes as well as count', () => {
    const ring = newRing(100, 250)
    ring.start()
    for (let i = 0; i < 5; i += 1) {
      closeSegment(i, 100)
      ring.poll()
    }
    expect(ring.stats().bytes).toBeLessThanOrEqual(250)
    expect(ring.segments()).toHaveLength(2)
    ring.stop()
  })

  it('keeps pinned segments past the bound until they are unpinned', () => {
    const ring = newRing(2)
    ring.start()
    closeSegment(0)
    ring.poll()
    const first = ring.latest() as Segment
    ring.pin(first)
    for (let i = 1; i < 4; i += 1) {
      closeSegment(i)
      ring.poll()
    }
    expect(ring.segments().map((s) => s.index)).toEqual([0, 1, 2, 3])
    ring.unpin(first)
    expect(ring.segments().map((s) => s.index)).toEqual([2, 3])
    expect(existsSync(first.path)).toBe(false)
    ring.stop()
  })

  it('deletes segments that dropped off the list before a (stalled) poll saw them', () => {
    const ring = newRing(5)
    ring.start()
    closeSegment(0)
    ring.poll()
    for (let i = 1; i < 25; i += 1) closeSegment(i) // the list keeps only the newest 20
    ring.poll()
    expect(segmentFiles()).toHaveLength(5)
    ring.stop()
  })

  it('adopts the segments of a restarted capture that continues at nextIndex()', () => {
    const ring = newRing(5)
    ring.start()
    closeSegment(0)
    closeSegment(1)
    ring.poll()
    // The capture died while writing segment 2, and restarts with a fresh list at nextIndex().
    writeFileSync(join(dir, 'seg-000002.ts'), 'unfinished')
    listed = []
    const next = ring.nextIndex()
    expect(next).toBe(3)
    closeSegment(next)
    ring.poll()
    expect(ring.segments().map((s) => s.index)).toEqual([0, 1, 3])
    expect(segmentFiles()).not.toContain('seg-000002.ts')
    ring.stop()
  })

  it('ignores a list line that is still being written', () => {
    const ring = newRing()
    ring.start()
    writeFileSync(join(dir, 'seg-000000.ts'), Buffer.alloc(10))
    writeFileSync(join(dir, 'segments.csv'), 'seg-000000.ts,0.000000,1.0')
    ring.poll()
    expect(ring.segments()).toEqual([])
    writeFileSync(join(dir, 'segments.csv'), 'seg-000000.ts,0.000000,1.000000\n')
    ring.poll()
    expect(ring.segments()).toHaveLength(1)
    ring.stop()
  })

  it('empties its folder at start and stop', () => {
    writeFileSync(join(dir, 'seg-000042.ts'), 'left over from a crash')
    writeFileSync(join(dir, `snap-${newEventId()}.jpg`), 'left over')
    writeFileSync(join(dir, 'notes.txt'), 'not ours')
    const ring = newRing()
    ring.start()
    expect(segmentFiles()).toEqual([])
    expect(readdirSync(dir)).toEqual(['notes.txt'])
    rmSync(join(dir, 'notes.txt'))
    closeSegment(0)
    ring.poll()
    ring.stop()
    expect(readdirSync(dir)).toEqual([])
  })
})
