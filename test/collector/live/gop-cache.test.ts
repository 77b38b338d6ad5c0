import { describe, expect, it } from 'vitest'
import { GopCache } from '../../../collector/live/gop-cache.js'

function packet(nal: number, ts: number, size = 100): Buffer {
  const p = Buffer.alloc(12 + size)
  p[0] = 0x80
  p[1] = 96
  p.writeUInt32BE(ts, 4)
  p[12] = nal
  return p
}

describe('GopCache', () => {
  it('keeps the packets from the last keyframe on, and nothing before the first', () => {
    const cache = new GopCache(1 << 20)
    cache.push(packet(0x41, 1))
    expect(cache.packets()).toHaveLength(0)
    cache.push(packet(0x67, 2))
    cache.push(packet(0x65, 2))
    cache.push(packet(0x41, 3))
    expect(cache.packets()).toHaveLength(3)
    cache.push(packet(0x67, 4))
    expect(cache.packets()).toHaveLength(1)
  })

  it('drops a group larger than its bound instead of growing', () => {
    const cache = new GopCache(1000)
    cache.push(packet(0x67, 1, 400))
    cache.push(packet(0x41, 2, 400))
    cache.push(packet(0x41, 3, 400))
    expect(cache.packets()).toHaveLength(0)
    expect(cache.byteLength).toBe(0)
  })
})
