import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll } from 'vitest'
import { LevelOutboxStore } from '../../../agent/outbox/level-outbox-store.js'
import { MemoryOutboxStore } from '../../../agent/outbox/memory-outbox-store.js'
import { outboxStoreContract } from './outbox-store.contract.js'

outboxStoreContract('memory', {
  async create() {
    const store = new MemoryOutboxStore()
    await store.open()
    return store
  },
})

const dirs: string[] = []
let current = ''
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

outboxStoreContract('level', {
  async create() {
    current = await mkdtemp(join(tmpdir(), 'outbox-level-'))
    dirs.push(current)
    const store = new LevelOutboxStore({ directory: current })
    await store.open()
    return store
  },
  async reopen() {
    const store = new LevelOutboxStore({ directory: current })
    await store.open()
    return store
  },
})
