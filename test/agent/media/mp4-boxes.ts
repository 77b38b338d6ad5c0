import { readFileSync } from 'node:fs'

/** Top-level MP4 box types in file order (to check faststart: moov before mdat). */
export function topLevelBoxes(path: string): string[] {
  const file = readFileSync(path)
  const boxes: string[] = []
  let offset = 0
  while (offset + 8 <= file.length) {
    let size = file.readUInt32BE(offset)
    const type = file.toString('latin1', offset + 4, offset + 8)
    if (size === 1) size = Number(file.readBigUInt64BE(offset + 8))
    if (size === 0) size = file.length - offset
    if (size < 8) throw new Error(`bad box size ${size} at ${offset}`)
    boxes.push(type)
    offset += size
  }
  return boxes
}
