import { createHash } from 'node:crypto'
import { constants, existsSync } from 'node:fs'
import { mkdir, open, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { syncDirectory } from '../../shared/files/atomic-file.js'
import type { ClipManifest, ClipStore, ClipVerdict } from './clip-store.js'

/** Largest clip accepted, so a forged offset cannot make a huge sparse file. */
export const maxClipBytes = 1024 * 1024 * 1024

/**
 * Clip bodies as files under <dataDir>/clips/<deviceId>/: `<clipId>.part` while chunks arrive (each
 * written at its offset, then fdatasync), renamed to `<clipId>.mp4` once the whole file matches the
 * manifest's sha256. Per-device folders keep one device from writing into another's clip.
 */
export class FileClipStore implements ClipStore {
  readonly #root: string

  constructor(dataDir: string) {
    this.#root = join(dataDir, 'clips')
  }

  #partPath(deviceId: string, clipId: string): string {
    return join(this.#root, deviceId, `${clipId}.part`)
  }

  #finalPath(deviceId: string, clipId: string): string {
    return join(this.#root, deviceId, `${clipId}.mp4`)
  }

  async writeChunk(deviceId: string, clipId: string, offsetBytes: number, data: Buffer): Promise<void> {
    if (offsetBytes + data.length > maxClipBytes) throw new RangeError(`chunk past ${maxClipBytes} bytes`)
    if (existsSync(this.#finalPath(deviceId, clipId))) return
    await mkdir(join(this.#root, deviceId), { recursive: true })
    const file = await open(this.#partPath(deviceId, clipId), constants.O_RDWR | constants.O_CREAT, 0o640)
    try {
      await file.write(data, 0, data.length, offsetBytes)
      await file.datasync()
    } finally {
      await file.close()
    }
    // The file's directory entry must be durable too, or a power cut could lose a file whose chunks
    // were acknowledged.
    await syncDirectory(join(this.#root, deviceId))
  }

  async finalize(deviceId: string, manifest: ClipManifest): Promise<ClipVerdict> {
    const final = this.#finalPath(deviceId, manifest.clipId)
    if (existsSync(final)) return 'complete'
    const part = this.#partPath(deviceId, manifest.clipId)
    const info = await stat(part)
    if (info.size !== manifest.bytes) return 'corrupt'
    const hash = createHash('sha256')
    const file = await open(part, 'r')
    try {
      for await (const chunk of file.createReadStream()) hash.update(chunk as Buffer)
    } finally {
      await file.close()
    }
    if (hash.digest('hex') !== manifest.sha256) return 'corrupt'
    await rename(part, final)
    await syncDirectory(join(this.#root, deviceId))
    return 'complete'
  }

  async clipFile(deviceId: string, clipId: string): Promise<string | undefined> {
    const final = this.#finalPath(deviceId, clipId)
    return existsSync(final) ? final : undefined
  }

  async deleteClip(deviceId: string, clipId: string): Promise<void> {
    await rm(this.#partPath(deviceId, clipId), { force: true })
    await rm(this.#finalPath(deviceId, clipId), { force: true })
  }
}
