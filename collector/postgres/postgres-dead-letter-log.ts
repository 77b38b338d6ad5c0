import type { DeadLetter, DeadLetterLog } from '../alerts/dead-letter-log.js'
import type { PostgresDatabase } from './postgres-database.js'

/**
 * Dead letters in PostgreSQL `dead_letters` (migrations/0006): every node's, in one list, so an operator
 * sees what never arrived whichever node gave up on it. An append is durable once it resolves (commit).
 */
export class PostgresDeadLetterLog implements DeadLetterLog {
  readonly #db: PostgresDatabase

  constructor(db: PostgresDatabase) {
    this.#db = db
  }

  async append(letter: DeadLetter): Promise<void> {
    await this.#db.query('INSERT INTO dead_letters (at_ms, letter) VALUES ($1, $2)', [
      letter.atMs,
      JSON.stringify(letter),
    ])
  }

  async list(): Promise<DeadLetter[]> {
    const rows = await this.#db.query<{ letter: DeadLetter }>('SELECT letter FROM dead_letters ORDER BY id')
    return rows.rows.map((row) => row.letter)
  }
}
