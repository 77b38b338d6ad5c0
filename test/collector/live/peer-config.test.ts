import { describe, expect, it } from 'vitest'
import { announceAddress } from '../../../collector/live/peer-config.js'

const offer = [
  'v=0',
  'a=candidate:1 1 UDP 2122317823 198.18.20.1 8189 typ host',
  'a=candidate:2 1 UDP 1686052607 198.51.100.4 8189 typ srflx raddr 198.18.20.1 rport 8189',
  'a=end-of-candidates',
  '',
].join('\r\n')

describe('announceAddress (live.publicAddress)', () => {
  it('adds the public address beside each UDP host candidate, same port, tried first, own foundation', () => {
    const lines = announceAddress(offer, '203.0.113.10').split('\r\n')
    expect(lines).toEqual([
      'v=0',
      'a=candidate:1 1 UDP 2122317823 198.18.20.1 8189 typ host',
      'a=candidate:1p 1 UDP 2122317824 203.0.113.10 8189 typ host',
      'a=candidate:2 1 UDP 1686052607 198.51.100.4 8189 typ srflx raddr 198.18.20.1 rport 8189',
      'a=end-of-candidates',
      '',
    ])
  })

  it('leaves a description unchanged without a public address, or when the bound one is it', () => {
    expect(announceAddress(offer, undefined)).toBe(offer)
    expect(announceAddress(offer, '198.18.20.1')).toBe(offer)
  })
})
