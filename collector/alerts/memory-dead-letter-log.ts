import type { DeadLetter, DeadLetterLog } from './dead-letter-log.js'

/** Dead letters in memory, lost with the process: the simulated log, for tests and throwaway runs. */
export class MemoryDeadLetterLog implements DeadLetterLog {
  readonly #letters: DeadLetter[]

  /** Pass the array of an earlier log to "reopen" it. */
  constructor(letters: DeadLetter[] = []) {
    this.#letters = letters
  }

  async append(letter: DeadLetter): Promise<void> {
    this.#letters.push(letter)
  }

  async list(): Promise<DeadLetter[]> {
    return [...this.#letters]
  }
}
