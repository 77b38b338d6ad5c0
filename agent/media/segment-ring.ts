import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { ulidCharsSource } from '../../shared/protocol/ids.js'
import { segmentListName } from './capture-command.js'

/** One closed segment of the ring: an MPEG-TS file starting on a keyframe. */
export interface Segment {
  /** Number from the file name; increases by one per segment. */
  readonly index: number
  readonly path: string
  readonly bytes: number
  /** Wall-clock span of the segment, ms since the epoch: its stream times mapped by the ring's anchor. */
  readonly startedAtMs: number
  readonly endedAtMs: number
}

/** Bounds of the ring. Pinned segments are kept beyond them until unpinned. */
export interface SegmentRingLimits {
  readonly maxSegments: number
  readonly maxBytes: number
}

/** Collaborators of the ring. */
export interface SegmentRingDeps {
  readonly dir: string
  readonly limits: SegmentRingLimits
  readonly pollMs: number
  /** Wall clock, ms since the epoch. */
  readonly nowMs?: () => number
}

/** Counters of the ring, for health and tests. */
export interface SegmentRingStats {
  readonly segments: number
  readonly bytes: number
  readonly pinned: number
  readonly evicted: number
}

type SegmentListener = (segment: Segment) => void

/** Observations the stream-to-wall-clock offset is estimated from (about half a minute of segments). */
const anchorWindow = 30
const segmentFile = /^seg-(\d+)\.ts$/
/** Scratch files of snapshots (snap-<ULID>.jpg) and clip lists (<ULID>.txt) written into the ring folder. */
const ownScratchFile = new RegExp(`^(snap-)?${ulidCharsSource}\\.(jpg|txt)$`)
/** One line of ffmpeg's CSV segment list: file name, start and end time in seconds. */
const listEntry = /^(seg-(\d+)\.ts),(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)$/

/**
 * The rolling pre-roll buffer: ffmpeg's segment muxer writes short MPEG-TS segments into a folder
 * (tmpfs by default) and appends each closed one to a CSV list; this class reads the list, dates each
 * segment on the wall clock, keeps the newest segments within count and byte bounds, deletes the rest,
 * and lets clips pin what they need.
 */
export class FsSegmentRing {
  readonly dir: string
  readonly #deps: SegmentRingDeps
  readonly #nowMs: () => number
  readonly #held: Segment[] = []
  readonly #pins = new Map<number, number>()
  readonly #listeners = new Set<SegmentListener>()
  #lastIndex = -1
  #lastEndMs = Number.NEGATIVE_INFINITY
  readonly #anchorSamples: number[] = []
  #evicted = 0
  #timer: NodeJS.Timeout | undefined

  constructor(deps: SegmentRingDeps) {
    this.#deps = deps
    this.dir = deps.dir
    this.#nowMs = deps.nowMs ?? Date.now
  }

  /** Empties (or creates) the ring folder and starts polling the segment list. */
  start(): void {
    this.#clear()
    mkdirSync(this.dir, { recursive: true })
    this.#timer = setInterval(() => this.poll(), this.#deps.pollMs)
    this.#timer.unref()
  }

  /** Stops polling and deletes every segment (tmpfs is RAM). */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
    this.#clear()
  }

  /** Reads the segment list once, adopting newly closed segments and enforcing the bounds. */
  poll(): void {
    let text: string
    try {
      text = readFileSync(join(this.dir, segmentListName), 'utf8')
    } catch {
      return // not written yet
    }
    const seenAtMs = this.#nowMs()
    // Only newline-terminated lines: a line being written is read at the next poll.
    for (const line of text.split('\n').slice(0, -1)) {
      const entry = listEntry.exec(line.trim())
      if (!entry) continue
      const [, name, number, startS, endS] = entry as unknown as [string, string, string, string, string]
      const index = Number(number)
      if (index <= this.#lastIndex) continue
      const path = join(this.dir, name)
      let bytes: number
      try {
        bytes = statSync(path).size
      } catch {
        continue // deleted under us; nothing to adopt
      }
      // Segments that dropped off the list unseen (a stalled poll) are not adopted: delete them.
      for (let missed = this.#lastIndex + 1; this.#lastIndex >= 0 && missed < index; missed += 1) {
        rmSync(join(this.dir, `seg-${String(missed).padStart(6, '0')}.ts`), { force: true })
      }
      this.#lastIndex = index
      const anchorMs = this.#anchor(seenAtMs, Number(endS) * 1000)
      const segment: Segment = {
        index,
        path,
        bytes,
        startedAtMs: anchorMs + Number(startS) * 1000,
        endedAtMs: anchorMs + Number(endS) * 1000,
      }
      this.#held.push(segment)
      this.#evict()
      for (const listener of this.#listeners) listener(segment)
    }
  }

  /**
   * Maps stream time to wall-clock time. Each observation (seen at seenAtMs, the segment ending at
   * stream time endMs) bounds the offset from above; a late poll (a busy event loop) only makes it
   * looser, so the smallest of the recent observations is the best estimate. A window of recent
   * observations, not all of them, lets the estimate follow a stream clock that drifts; time going
   * backwards (a restarted capture) starts the window over.
   */
  #anchor(seenAtMs: number, endMs: number): number {
    if (endMs < this.#lastEndMs) this.#anchorSamples.length = 0
    this.#lastEndMs = endMs
    this.#anchorSamples.push(seenAtMs - endMs)
    if (this.#anchorSamples.length > anchorWindow) this.#anchorSamples.shift()
    return Math.min(...this.#anchorSamples)
  }

  /** The number a restarted capture should give its first segment, so no held file is overwritten. */
  nextIndex(): number {
    return this.#lastIndex + 2 // +1 would be the dead run's unfinished segment; skip it too
  }

  /** The held segments, oldest first. */
  segments(): readonly Segment[] {
    return [...this.#held]
  }

  /** The newest closed segment, if any. */
  latest(): Segment | undefined {
    return this.#held.at(-1)
  }

  /** Calls listener for each segment closed from now on; returns the unsubscribe function. */
  onSegment(listener: SegmentListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Keeps a segment on disk past the bounds until unpin is called as many times. */
  pin(segment: Segment): void {
    this.#pins.set(segment.index, (this.#pins.get(segment.index) ?? 0) + 1)
  }

  /** Releases one pin; the segment may be evicted at the next bound check. */
  unpin(segment: Segment): void {
    const count = (this.#pins.get(segment.index) ?? 0) - 1
    if (count > 0) this.#pins.set(segment.index, count)
    else this.#pins.delete(segment.index)
    this.#evict()
  }

  /** Current counters. */
  stats(): SegmentRingStats {
    return {
      segments: this.#held.length,
      bytes: this.#held.reduce((sum, s) => sum + s.bytes, 0),
      pinned: this.#pins.size,
      evicted: this.#evicted,
    }
  }

  /** Drops the oldest segments while over a bound; stops at a pinned one so the ring stays contiguous. */
  #evict(): void {
    let bytes = this.#held.reduce((sum, s) => sum + s.bytes, 0)
    const { maxSegments, maxBytes } = this.#deps.limits
    while (this.#held.length > 0 && (this.#held.length > maxSegments || bytes > maxBytes)) {
      const oldest = this.#held[0] as Segment
      if (this.#pins.has(oldest.index)) break
      this.#held.shift()
      bytes -= oldest.bytes
      this.#evicted += 1
      rmSync(oldest.path, { force: true })
    }
  }

  #clear(): void {
    this.#held.length = 0
    this.#pins.clear()
    this.#lastIndex = -1
    this.#lastEndMs = Number.NEGATIVE_INFINITY
    this.#anchorSamples.length = 0
    let names: string[]
    try {
      names = readdirSync(this.dir)
    } catch {
      return
    }
    for (const name of names) {
      // Only files the media code writes here, in case ring.dir points at a folder shared with others.
      if (segmentFile.test(name) || ownScratchFile.test(name) || name.startsWith(segmentListName)) {
        rmSync(join(this.dir, name), { force: true })
      }
    }
  }
}
