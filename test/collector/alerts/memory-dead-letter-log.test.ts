import type { DeadLetter } from '../../../collector/alerts/dead-letter-log.js'
import { MemoryDeadLetterLog } from '../../../collector/alerts/memory-dead-letter-log.js'
import { deadLetterLogContract } from '../store/contracts/dead-letter-log.contract.js'

let letters: DeadLetter[] = []

deadLetterLogContract('memory', {
  async create() {
    letters = []
    return new MemoryDeadLetterLog(letters)
  },
  async reopen() {
    return new MemoryDeadLetterLog(letters)
  },
})
