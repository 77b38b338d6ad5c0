/** Collaborators of a ThrottledSaver. */
export interface ThrottledSaverDeps {
  /** Writes the current state; may throw or reject. */
  readonly save: () => void | Promise<void>
  /** Least time between two routine saves. */
  readonly intervalMs: number
  /** A save failed; the state stays dirty and is saved again with the next change. */
  readonly onError: (err: unknown) => void
}

/**
 * Decides when changing state is written: at once for a change that matters, at most once per intervalMs
 * for routine ones (a device's last-seen time moves on every group commit, thousands of times a second
 * under load), and once more on close. Nothing is written after close.
 */
export class ThrottledSaver {
  readonly #deps: ThrottledSaverDeps
  #timer: NodeJS.Timeout | undefined
  #isDirty = false
  #isClosed = false
  /** The latest save, settled (close waits for it). */
  #lastSave: Promise<void> = Promise.resolve()

  constructor(deps: ThrottledSaverDeps) {
    this.#deps = deps
  }

  /** The state changed; isUrgent saves it now, otherwise within intervalMs. Settles with that save. */
  changed(isUrgent = false): Promise<void> {
    if (this.#isClosed) return Promise.resolve()
    this.#isDirty = true
    if (isUrgent) {
      this.#saveNow()
      return this.#lastSave
    }
    if (!this.#timer) {
      this.#timer = setTimeout(() => this.#saveNow(), this.#deps.intervalMs)
      this.#timer.unref()
    }
    return Promise.resolve()
  }

  /** Saves what is pending and resolves once it is written; later changes are ignored. */
  close(): Promise<void> {
    if (!this.#isClosed) {
      this.#saveNow()
      this.#isClosed = true
    }
    return this.#lastSave
  }

  #saveNow(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (!this.#isDirty) return
    this.#isDirty = false
    const failed = (err: unknown): void => {
      this.#isDirty = true
      this.#deps.onError(err)
    }
    try {
      this.#lastSave = Promise.resolve(this.#deps.save()).catch(failed)
    } catch (err) {
      failed(err)
    }
  }
}
