import { describe, expect, it } from 'vitest'
import type { DeadLetter } from '../../../collector/alerts/dead-letter-log.js'
import { PostgresDeadLetterLog } from '../../../collector/postgres/postgres-dead-letter-log.js'
import { eventually } from '../../support/eventually.js'
import { deadLetterLogContract } from '../store/contracts/dead-letter-log.contract.js'
import { databaseHarness, usePostgresSuite } from './postgres-suite.js'

const suite = usePostgresSuite()

deadLetterLogContract(
  'postgres',
  databaseHarness(suite, (_url, db) => new PostgresDeadLetterLog(db)),
)

const letter: DeadLetter = {
  atMs: 1,
  channel: 'hook',
  recipient: 'alice',
  attempts: 3,
  error: 'HTTP 500',
  alert: {
    id: '01J0000000000000000000000A',
    tag: '01J0000000000000000000000A',
    kind: 'press',
    eventClass: 'high',
    title: 'Doorbell',
    body: 'Someone is at the door.',
    priority: 5,
    tags: [],
    capturedAtMs: 1,
    isUpdate: false,
  },
}

describe('PostgresDeadLetterLog', () => {
  it('lists the dead letters every node recorded, in one log', async () => {
    const url = await suite.freshDatabase()
    const [a, b] = [
      new PostgresDeadLetterLog(await suite.connect(url)),
      new PostgresDeadLetterLog(await suite.connect(url)),
    ]
    await a.append(letter)
    await b.append({ ...letter, atMs: 2, recipient: 'bob' })
    expect(await a.list()).toEqual([letter, { ...letter, atMs: 2, recipient: 'bob' }])
  })

  it('refuses a dead letter with POSTGRES_UNAVAILABLE while the database is down, and keeps the earlier ones', async () => {
    const url = await suite.freshDatabase()
    const log = new PostgresDeadLetterLog(await suite.connect(url))
    await log.append(letter)
    await suite.engine.stop()
    try {
      await expect(log.append({ ...letter, atMs: 2 })).rejects.toMatchObject({ code: 'POSTGRES_UNAVAILABLE' })
    } finally {
      await suite.engine.start()
    }
    await eventually(async () => (await log.list().catch(() => [])).length === 1, 'the log readable again')
    expect(await log.list()).toEqual([letter])
  })
})
