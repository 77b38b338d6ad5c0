import { describe, expect, it } from 'vitest'
import { boundToParent, hasPdeathsig } from '../../../agent/media/parent-death.js'

describe('boundToParent', () => {
  it('runs the command under setpriv --pdeathsig TERM when setpriv offers it', () => {
    const line = { command: 'ffmpeg', args: ['-i', 'x'] }
    expect(boundToParent(line, true)).toEqual({
      command: 'setpriv',
      args: ['--pdeathsig', 'TERM', '--', 'ffmpeg', '-i', 'x'],
    })
    expect(boundToParent(line, false)).toBe(line)
  })

  it('finds setpriv on this Debian machine (util-linux is essential)', () => {
    expect(hasPdeathsig()).toBe(true)
  })
})
