import { appendFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { FileDeadLetterLog } from '../../../collector/alerts/file-dead-letter-log.js'
import { tempDir } from '../collector-harness.js'
import { deadLetterLogContract } from '../store/contracts/dead-letter-log.contract.js'
import { folderHarness } from '../store/contracts/store-harness.js'

deadLetterLogContract(
  'jsonl file',
  folderHarness(
    'dead-letters',
    (folder) => new FileDeadLetterLog(join(folder, 'alerts', 'dead-letters.jsonl')),
  ),
)

describe('FileDeadLetterLog', () => {
  const dir = tempDir('filedeadletterlog')
  afterAll(() => dir.cleanup())

  it('skips a torn last line left by a crash and keeps the lines before it', async () => {
    const file = join(dir.path, 'torn', 'dead-letters.jsonl')
    const log = new FileDeadLetterLog(file)
    const letter = { atMs: 1, channel: 'c', recipient: 'r', attempts: 1, error: 'e', alert: {} as never }
    await log.append(letter)
    appendFileSync(file, '{"atMs":2,"chan')
    expect(await new FileDeadLetterLog(file).list()).toEqual([letter])
  })
})
