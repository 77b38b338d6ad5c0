import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger } from '../../shared/logger.js'

describe('createLogger', () => {
  it('writes structured JSON lines with secrets redacted', () => {
    const lines: string[] = []
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk))
        done()
      },
    })
    const log = createLogger({ name: 'test', destination })
    log.info(
      { mqtt: { url: 'mqtt://x', password: 'hunter2' }, secret: 's3cret', deviceId: 'd1' },
      'connecting',
    )
    expect(lines).toHaveLength(1)
    const line = JSON.parse(lines[0] as string)
    expect(line).toMatchObject({ name: 'test', msg: 'connecting', deviceId: 'd1', level: 30 })
    expect(line.mqtt).toEqual({ url: 'mqtt://x', password: '[redacted]' })
    expect(line.secret).toBe('[redacted]')
    expect(lines[0]).not.toContain('hunter2')
  })
})
