import { createHash, randomBytes } from 'node:crypto'
import { mkdir, open, readdir, rename, rm, stat, utimes } from 'node:fs/promises'
import { join } from 'node:path'
import type { ClipManifest, ClipStore, ClipVerdict } from '../clips/clip-store.js'
import { maxClipBytes } from '../clips/file-clip-store.js'
import type { PostgresDatabase } from './postgres-database.js'

/** Chunks one read of a clip fetches: a bounded share of memory whatever the clip's size. */
const chunksPerRead = 16

/** Local copies one pruning query looks up. */
const copiesPerLookup = 1000

/** A copy's file name: `<clipId>.mp4`, or `<clipId>.mp4.<random>.tmp` while it is written. */
const copyName = /^([0-9A-Z]{26})\.mp4(\.[0-9a-f]{8}\.tmp)?$/

/**
 * Clip bodies in PostgreSQL (migrations/0006): each chunk a bytea row in `clip_chunks`, whichever node
 * received it, so a clip whose upload moved to another node in a failover is reassembled from all of
 * them; a row in `clip_bodies` marks a clip that matched its manifest. The dashboard serves a clip from a
 * local copy under `<dataDir>/clips/<deviceId>/<clipId>.mp4` (ranges, ETag), written from the rows the
 * first time this node serves it and removed when the clip is gone from PostgreSQL, or when the copies
 * together pass `maxCopyBytes` (least recently served first): they are a cache of the rows.
 */
export class PostgresClipStore implements ClipStore {
  readonly #db: PostgresDatabase
  readonly #copiesRoot: string
  /** Copies being written, so two requests for one clip write it once. */
  readonly #copying = new Map<string, Promise<string | undefined>>()
  readonly #maxCopyBytes: number

  constructor(db: PostgresDatabase, dataDir: string, options: { readonly maxCopyBytes?: number } = {}) {
    this.#db = db
    this.#copiesRoot = join(dataDir, 'clips')
    this.#maxCopyBytes = options.maxCopyBytes ?? Number.POSITIVE_INFINITY
  }

  async writeChunk(deviceId: string, clipId: string, offsetBytes: number, data: Buffer): Promise<void> {
    if (offsetBytes + data.length > maxClipBytes) throw new RangeError(`chunk past ${maxClipBytes} bytes`)
    // One statement (one round trip, one commit). A chunk already stored is never rewritten: a second copy
    // is the same bytes (the device sends a chunk again only when its ack was lost), and the rows a check
    // hashed stay the rows that are served. A recovery deletes the clip before asking for it again.
    await this.#db.query(
      `INSERT INTO clip_chunks (device_id, clip_id, offset_bytes, data)
       SELECT $1, $2, $3, $4
        WHERE NOT EXISTS (SELECT 1 FROM clip_bodies WHERE device_id = $1 AND clip_id = $2)
       ON CONFLICT (device_id, clip_id, offset_bytes) DO NOTHING`,
      [deviceId, clipId, offsetBytes, data],
    )
  }

  /**
   * Reads the chunks in offset order into the hash (a page at a time): they must follow each other
   * without gap or overlap and add up to the manifest's size. Stored chunks never change, so what was
   * hashed is what is served; two nodes that check at once both mark the clip, once.
   */
  async finalize(deviceId: string, manifest: ClipManifest): Promise<ClipVerdict> {
    const { clipId } = manifest
    const done = await this.#db.query('SELECT 1 FROM clip_bodies WHERE device_id = $1 AND clip_id = $2', [
      deviceId,
      clipId,
    ])
    if ((done.rowCount ?? 0) > 0) return 'complete'
    const hash = createHash('sha256')
    let endBytes = 0
    for (;;) {
      const page = await this.#readChunks(deviceId, clipId, endBytes)
      for (const row of page) {
        if (Number(row.offset) !== endBytes) return 'corrupt'
        hash.update(row.data)
        endBytes += row.data.length
      }
      if (page.length < chunksPerRead || endBytes > manifest.bytes) break
    }
    if (endBytes !== manifest.bytes || hash.digest('hex') !== manifest.sha256) return 'corrupt'
    await this.#db.query(
      `INSERT INTO clip_bodies (device_id, clip_id, size_bytes, sha256) VALUES ($1, $2, $3, $4)
       ON CONFLICT DO NOTHING`,
      [deviceId, clipId, manifest.bytes, manifest.sha256],
    )
    return 'complete'
  }

  /** The next page of a clip's chunks from fromBytes on, in offset order. */
  async #readChunks(
    deviceId: string,
    clipId: string,
    fromBytes: number,
  ): Promise<{ offset: string; data: Buffer }[]> {
    const page = await this.#db.query<{ offset: string; data: Buffer }>(
      `SELECT offset_bytes AS "offset", data FROM clip_chunks
        WHERE device_id = $1 AND clip_id = $2 AND offset_bytes >= $3
        ORDER BY offset_bytes LIMIT ${chunksPerRead}`,
      [deviceId, clipId, fromBytes],
    )
    return page.rows
  }

  async clipFile(deviceId: string, clipId: string): Promise<string | undefined> {
    const key = `${deviceId}/${clipId}`
    const running = this.#copying.get(key)
    if (running) return running
    const copy = this.#localCopy(deviceId, clipId).finally(() => this.#copying.delete(key))
    this.#copying.set(key, copy)
    return copy
  }

  async #localCopy(deviceId: string, clipId: string): Promise<string | undefined> {
    const path = join(this.#copiesRoot, deviceId, `${clipId}.mp4`)
    const body = await this.#db.query<{ size: string }>(
      'SELECT size_bytes AS size FROM clip_bodies WHERE device_id = $1 AND clip_id = $2',
      [deviceId, clipId],
    )
    const size = body.rows[0]?.size
    if (size === undefined) {
      // Gone from the fleet (retention on another node): this node's copy goes too.
      await rm(path, { force: true })
      return undefined
    }
    const existing = await stat(path).catch(() => undefined)
    if (existing?.size === Number(size)) {
      // Its time says when it was last served: the copies past the cap go oldest first.
      const now = new Date()
      await utimes(path, now, now).catch(() => undefined)
      return path
    }
    await mkdir(join(this.#copiesRoot, deviceId), { recursive: true, mode: 0o700 })
    const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`
    const file = await open(temporary, 'w', 0o600)
    try {
      // The chunks the check hashed: from 0, each where the last ended, up to the verified size.
      const sizeBytes = Number(size)
      let endBytes = 0
      while (endBytes < sizeBytes) {
        const fromBytes = endBytes
        for (const row of await this.#readChunks(deviceId, clipId, endBytes)) {
          if (Number(row.offset) !== endBytes || endBytes >= sizeBytes) continue
          await file.write(row.data)
          endBytes += row.data.length
        }
        if (endBytes === fromBytes) throw new Error(`clip ${clipId} of ${deviceId}: no chunk at ${endBytes}`)
      }
      await file.datasync()
    } catch (err) {
      await file.close()
      await rm(temporary, { force: true })
      throw err
    }
    await file.close()
    await rename(temporary, path)
    await this.#trimCopies(path)
    return path
  }

  /** The finished copies on this node, with their sizes and when each was last served. */
  async #listCopies(): Promise<
    { deviceId: string; clipId: string; path: string; bytes: number; usedMs: number }[]
  > {
    const copies = []
    for (const deviceId of await readdir(this.#copiesRoot).catch(() => [] as string[])) {
      for (const name of await readdir(join(this.#copiesRoot, deviceId)).catch(() => [] as string[])) {
        const clipId = copyName.exec(name)
        if (!clipId?.[1] || clipId[2]) continue
        const path = join(this.#copiesRoot, deviceId, name)
        const info = await stat(path).catch(() => undefined)
        if (info) copies.push({ deviceId, clipId: clipId[1], path, bytes: info.size, usedMs: info.mtimeMs })
      }
    }
    return copies
  }

  /**
   * Removes the least recently served copies until all of them fit `maxCopyBytes`, never `keep` (the one
   * just written, being served). A copy removed while a response still streams it stays readable to that
   * response (the file is only unlinked); the next request writes it again from the rows.
   */
  async #trimCopies(keep?: string): Promise<number> {
    if (!Number.isFinite(this.#maxCopyBytes)) return 0
    const copies = await this.#listCopies()
    let total = copies.reduce((sum, copy) => sum + copy.bytes, 0)
    let removed = 0
    for (const copy of copies.sort((a, b) => a.usedMs - b.usedMs)) {
      if (total <= this.#maxCopyBytes) break
      if (copy.path === keep || this.#copying.has(`${copy.deviceId}/${copy.clipId}`)) continue
      await rm(copy.path, { force: true })
      total -= copy.bytes
      removed += 1
    }
    return removed
  }

  /**
   * Every retention turn, on every node: the sweeping node deletes its own copy with the rows, the others
   * find theirs here. A temporary file is left alone while this node writes that copy.
   */
  async pruneCopies(): Promise<number> {
    const copies: { deviceId: string; clipId: string; path: string }[] = []
    for (const deviceId of await readdir(this.#copiesRoot).catch(() => [] as string[])) {
      const names = await readdir(join(this.#copiesRoot, deviceId)).catch(() => [] as string[])
      for (const name of names) {
        const match = copyName.exec(name)
        if (!match?.[1] || this.#copying.has(`${deviceId}/${match[1]}`)) continue
        if (match[2]) await rm(join(this.#copiesRoot, deviceId, name), { force: true })
        else copies.push({ deviceId, clipId: match[1], path: join(this.#copiesRoot, deviceId, name) })
      }
    }
    let removed = 0
    for (let i = 0; i < copies.length; i += copiesPerLookup) {
      const page = copies.slice(i, i + copiesPerLookup)
      const held = await this.#db.query<{ key: string }>(
        `SELECT b.device_id || '/' || b.clip_id AS key FROM clip_bodies b
          JOIN unnest($1::text[], $2::text[]) AS c(device_id, clip_id)
            ON b.device_id = c.device_id AND b.clip_id = c.clip_id`,
        [page.map((copy) => copy.deviceId), page.map((copy) => copy.clipId)],
      )
      const keys = new Set(held.rows.map((row) => row.key))
      for (const copy of page) {
        if (keys.has(`${copy.deviceId}/${copy.clipId}`)) continue
        await rm(copy.path, { force: true })
        removed += 1
      }
    }
    return removed + (await this.#trimCopies())
  }

  async deleteClip(deviceId: string, clipId: string): Promise<void> {
    await this.#db.transaction(async (client) => {
      await client.query('DELETE FROM clip_bodies WHERE device_id = $1 AND clip_id = $2', [deviceId, clipId])
      await client.query('DELETE FROM clip_chunks WHERE device_id = $1 AND clip_id = $2', [deviceId, clipId])
    })
    await rm(join(this.#copiesRoot, deviceId, `${clipId}.mp4`), { force: true })
  }
}
