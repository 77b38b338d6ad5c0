import type { CollectorEvent } from '../events/collector-event.js'
import type { CollectorEventBus } from '../events/event-bus.js'
import type { CollectorExtension, ExtensionContext } from './extension.js'

/** The context every extension shares, without the bus (each gets its own view of it). */
export type SharedContext = Omit<ExtensionContext, 'bus'>

/**
 * Starts extensions in order and stops them in reverse. Each gets a view of the bus whose listeners
 * carry its name, so its exceptions are reported under that name and its listeners go when it stops.
 */
export class ExtensionHost {
  readonly #bus: CollectorEventBus
  readonly #started: CollectorExtension[] = []

  constructor(bus: CollectorEventBus) {
    this.#bus = bus
  }

  /** Starts each extension in turn; when one fails, those started stay listed for stopAll(). */
  async startAll(extensions: readonly CollectorExtension[], shared: SharedContext): Promise<void> {
    for (const extension of extensions) {
      this.#started.push(extension)
      await extension.start(this.#contextOf(extension, shared))
    }
  }

  /** Stops the started extensions, last first; a failing stop is reported and the others still stop. */
  async stopAll(): Promise<void> {
    for (let extension = this.#started.pop(); extension; extension = this.#started.pop()) {
      try {
        await extension.stop()
      } catch (err) {
        this.#emit({ kind: 'task_failed', task: `stop ${extension.name}`, err })
      }
      this.#bus.removeListeners(extension.name)
    }
  }

  #contextOf(extension: CollectorExtension, shared: SharedContext): ExtensionContext {
    const bus = this.#bus
    return {
      ...shared,
      bus: {
        on(kind, listener) {
          bus.on(kind, extension.name, listener)
        },
        emit: (event) => bus.emit(event),
      },
    }
  }

  #emit(event: CollectorEvent): void {
    this.#bus.emit(event)
  }
}
