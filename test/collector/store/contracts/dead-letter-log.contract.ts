import { afterAll, describe, expect, it } from 'vitest'
import type { Alert } from '../../../../collector/alerts/alert.js'
import type { DeadLetter, DeadLetterLog } from '../../../../collector/alerts/dead-letter-log.js'
import type { StoreHarness } from './store-harness.js'

const alert: Alert = {
  id: '01J0000000000000000000000A',
  tag: '01J0000000000000000000000A',
  kind: 'press',
  eventClass: 'high',
  title: 'Doorbell',
  body: 'Someone is at the door.',
  priority: 5,
  tags: ['bell'],
  capturedAtMs: 1_000,
  isUpdate: false,
}

const letter = (n: number): DeadLetter => ({
  atMs: 1_000 + n,
  channel: n % 2 === 0 ? 'phone' : 'hook',
  recipient: 'alice',
  attempts: 3,
  error: `HTTP ${500 + n}`,
  alert: { ...alert, id: `${alert.id.slice(0, -2)}${String(n).padStart(2, '0')}` },
})

/** The contract every DeadLetterLog passes (the aedes-persistence abstract-suite pattern). */
export function deadLetterLogContract(name: string, harness: StoreHarness<DeadLetterLog>): void {
  describe(`DeadLetterLog contract: ${name}`, () => {
    afterAll(async () => {
      await harness.close?.()
    })

    it('lists nothing before the first dead letter', async () => {
      expect(await (await harness.create()).list()).toEqual([])
    })

    it('lists every dead letter whole, oldest first, including those appended at once', async () => {
      const log = await harness.create()
      await log.append(letter(0))
      await Promise.all([1, 2, 3, 4, 5].map((n) => log.append(letter(n))))
      const listed = await log.list()
      expect(listed[0]).toEqual(letter(0))
      expect([...listed].sort((a, b) => a.atMs - b.atMs)).toEqual([0, 1, 2, 3, 4, 5].map(letter))
    })

    it.skipIf(!harness.reopen)('keeps the dead letters across a reopen', async () => {
      const log = await harness.create()
      await log.append(letter(1))
      await log.append(letter(2))
      const reopened = await (harness.reopen as () => Promise<DeadLetterLog>)()
      expect(await reopened.list()).toEqual([letter(1), letter(2)])
    })
  })
}
