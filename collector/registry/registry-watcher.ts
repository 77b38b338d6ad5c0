import type { ManagedIdentityRegistry } from './identity-registry.js'

/** Collaborators of a registry watcher. */
export interface RegistryWatcherDeps {
  readonly registry: ManagedIdentityRegistry
  /** The registry changed (a device added, rotated, disabled, removed): cut revoked sessions, tell others. */
  readonly onChanged: () => void
  /** A pass failed (the file locked, the database away); the next one tries again. */
  readonly onError: (err: unknown) => void
  /** How often to look, ms (default 1000): the only way for a file, a backstop where changes are announced. */
  readonly intervalMs?: number
}

/**
 * Takes in the registry's changes, wherever they were made: writes the hash upgrades of slow logins,
 * reloads, and reports a change of revision. It looks every second, and at once when the registry
 * announces a change (PostgreSQL's NOTIFY). At most one pass runs and at most one more waits, so a slow
 * database does not pile passes up, and a change announced during a pass is still taken in after it.
 */
export class RegistryWatcher {
  readonly #deps: RegistryWatcherDeps
  readonly #timer: NodeJS.Timeout
  #revision: number
  #pass: Promise<void> = Promise.resolve()
  #isRunning = false
  #isAgain = false
  #isStopped = false

  constructor(deps: RegistryWatcherDeps) {
    this.#deps = deps
    this.#revision = deps.registry.revision
    this.#timer = setInterval(() => this.check(), deps.intervalMs ?? 1000)
    this.#timer.unref()
    deps.registry.watch?.(() => this.check())
  }

  /** Starts a pass, or asks for one more after the pass running. */
  check(): void {
    if (this.#isStopped) return
    if (this.#isRunning) {
      this.#isAgain = true
      return
    }
    this.#isRunning = true
    this.#pass = this.#run()
  }

  async #run(): Promise<void> {
    do {
      this.#isAgain = false
      await this.#apply()
    } while (this.#isAgain && !this.#isStopped)
    this.#isRunning = false
  }

  async #apply(): Promise<void> {
    const { registry } = this.#deps
    try {
      await registry.flushHashUpgrades()
      await registry.reloadIfChanged()
      if (registry.revision === this.#revision) return
      this.#revision = registry.revision
      this.#deps.onChanged()
    } catch (err) {
      this.#deps.onError(err)
    }
  }

  /** Stops looking; resolves once the pass running has finished. */
  async stop(): Promise<void> {
    this.#isStopped = true
    clearInterval(this.#timer)
    await this.#pass
  }
}
