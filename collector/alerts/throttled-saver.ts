/** Collaborators of a ThrottledSaver. */
export interface ThrottledSaverDeps {
  /** Writes the current state; may throw. */
  readonly save: () => void
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

  constructor(deps: ThrottledSaverDeps) {
    this.#deps = deps
  }

  /** The state changed; isUrgent saves it now, otherwise within intervalMs. */
  changed(isUrgent = false): void {
    if (this.#isClosed) return
    this.#isDirty = true
    if (isUrgent) {
      this.#saveNow()
      return
    }
    if (this.#timer) return
    this.#timer = setTimeout(() => this.#saveNow(), this.#deps.intervalMs)
    this.#timer.unref()
  }

  /** Saves what is pending; later changes are ignored. */
  close(): void {
    if (this.#isClosed) return
    this.#saveNow()
    this.#isClosed = true
  }

  #saveNow(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (!this.#isDirty) return
    this.#isDirty = false
    try {
      this.#deps.save()
    } catch (err) {
      this.#isDirty = true
      this.#deps.onError(err)
    }
  }
}
