import { mkdir, open, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { DeadLetter, DeadLetterLog } from './dead-letter-log.js'

/** Dead letters as JSON lines in one append-only file (`<dataDir>/alerts/dead-letters.jsonl`). */
export class FileDeadLetterLog implements DeadLetterLog {
  readonly #path: string
  #chain: Promise<void> = Promise.resolve()

  constructor(path: string) {
    this.#path = path
  }

  /** Appends one line and syncs it; appends are serialised so lines never interleave. */
  append(letter: DeadLetter): Promise<void> {
    const line = `${JSON.stringify(letter)}\n`
    const next = this.#chain.then(async () => {
      // Undelivered alerts carry event details: this user's only, like every file of the collector.
      await mkdir(dirname(this.#path), { recursive: true, mode: 0o700 })
      const file = await open(this.#path, 'a', 0o600)
      try {
        await file.writeFile(line, 'utf8')
        await file.datasync()
      } finally {
        await file.close()
      }
    })
    this.#chain = next.catch(() => undefined)
    return next
  }

  /** Every dead letter recorded (a torn last line after a crash is skipped). */
  async list(): Promise<DeadLetter[]> {
    let text: string
    try {
      text = await readFile(this.#path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw err
    }
    const letters: DeadLetter[] = []
    for (const line of text.split('\n')) {
      if (!line) continue
      try {
        letters.push(JSON.parse(line) as DeadLetter)
      } catch {
        // torn line
      }
    }
    return letters
  }
}
