import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ManagedIdentityRegistry } from '../../../collector/registry/identity-registry.js'
import { RegistryWatcher } from '../../../collector/registry/registry-watcher.js'

/** A registry whose revision the test moves, and which announces like PostgreSQL's does. */
class FakeRegistry {
  revision = 0
  stored = 0
  reloads = 0
  failNext = false
  #onChange: (() => void) | undefined
  watch(onChange: () => void): void {
    this.#onChange = onChange
  }
  async flushHashUpgrades(): Promise<number> {
    return 0
  }
  async reloadIfChanged(): Promise<boolean> {
    this.reloads += 1
    await new Promise((resolve) => setTimeout(resolve, 5))
    if (this.failNext) {
      this.failNext = false
      throw new Error('database away')
    }
    const isChanged = this.revision !== this.stored
    this.revision = this.stored
    return isChanged
  }
  /** Another process changed the registry and the engine announced it. */
  announce(): void {
    this.stored += 1
    this.#onChange?.()
  }
}

describe('RegistryWatcher', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('reports an announced change at once and once, although the timer looks at the same moment', async () => {
    vi.useFakeTimers()
    const registry = new FakeRegistry()
    const changes: number[] = []
    const watcher = new RegistryWatcher({
      registry: registry as unknown as ManagedIdentityRegistry,
      onChanged: () => changes.push(registry.revision),
      onError: (err) => {
        throw err
      },
    })
    registry.announce()
    watcher.check()
    await vi.advanceTimersByTimeAsync(20)
    expect(changes).toEqual([1])
    await vi.advanceTimersByTimeAsync(1000)
    expect(changes).toEqual([1])
    expect(registry.reloads).toBeGreaterThanOrEqual(3)
    await watcher.stop()
  })

  it('finds an unannounced change on its next look, and reports a failed pass without stopping', async () => {
    vi.useFakeTimers()
    const registry = new FakeRegistry()
    const changes: number[] = []
    const errors: unknown[] = []
    const watcher = new RegistryWatcher({
      registry: registry as unknown as ManagedIdentityRegistry,
      onChanged: () => changes.push(registry.revision),
      onError: (err) => errors.push(err),
    })
    registry.failNext = true
    registry.stored = 1
    await vi.advanceTimersByTimeAsync(1010)
    expect(errors).toHaveLength(1)
    expect(changes).toEqual([])
    await vi.advanceTimersByTimeAsync(1000)
    expect(changes).toEqual([1])
    await watcher.stop()
    registry.announce()
    await vi.advanceTimersByTimeAsync(2000)
    expect(changes).toEqual([1])
  })

  it('runs one pass at a time while the registry is slow, and one more for what came during it', async () => {
    vi.useFakeTimers()
    const registry = new FakeRegistry()
    const changes: number[] = []
    const watcher = new RegistryWatcher({
      registry: registry as unknown as ManagedIdentityRegistry,
      onChanged: () => changes.push(registry.revision),
      onError: () => {},
    })
    for (let i = 0; i < 50; i++) registry.announce()
    await vi.advanceTimersByTimeAsync(100)
    expect(registry.reloads).toBe(2)
    expect(changes).toEqual([50])
    await watcher.stop()
  })
})
