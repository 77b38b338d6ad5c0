import { appendFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FileDeadLetterLog } from '../../../collector/alerts/dead-letter-log.js'
import { tempDir } from '../collector-harness.js'
import { deadLetterLogContract } from '../store/contracts/dead-letter-log.contract.js'

const dir = tempDir('dead-letters')
let path = ''
let made = 0

deadLetterLogContract('jsonl file', {
  async create() {
    made += 1
    path = join(dir.path, String(made), 'alerts', 'dead-letters.jsonl')
    return new FileDeadLetterLog(path)
  },
  async reopen() {
    return new FileDeadLetterLog(path)
  },
  async close() {
    dir.cleanup()
  },
})

describe('FileDeadLetterLog', () => {
  it('skips a torn last line left by a crash and keeps the lines before it', async () => {
    const file = join(dir.path, 'torn', 'dead-letters.jsonl')
    const log = new FileDeadLetterLog(file)
    const letter = { atMs: 1, channel: 'c', recipient: 'r', attempts: 1, error: 'e', alert: {} as never }
    await log.append(letter)
    appendFileSync(file, '{"atMs":2,"chan')
    expect(await new FileDeadLetterLog(file).list()).toEqual([letter])
  })
})
