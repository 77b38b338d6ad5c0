import { describe, expect, it } from 'vitest'
import { isAlertRelevant } from '../../../collector/alerts/alert.js'
import { PostgresEventStore } from '../../../collector/postgres/postgres-event-store.js'
import type { StoredEvent } from '../../../collector/store/event-store.js'
import { baseMs, DAY_MS, pressAt, readingAt } from '../store/contracts/event-fixtures.js'
import { eventStoreContract } from '../store/contracts/event-store.contract.js'
import { usePostgresSuite } from './postgres-suite.js'

const suite = usePostgresSuite()
let currentUrl = ''

eventStoreContract('postgres', {
  async create() {
    currentUrl = await suite.freshDatabase()
    return new PostgresEventStore(await suite.connect(currentUrl))
  },
  async reopen() {
    return new PostgresEventStore(await suite.connect(currentUrl))
  },
})

describe('PostgresEventStore across nodes', () => {
  it('stores an event once when three nodes commit it at the same moment', async () => {
    const url = await suite.freshDatabase()
    const nodes = [
      new PostgresEventStore(await suite.connect(url)),
      new PostgresEventStore(await suite.connect(url)),
      new PostgresEventStore(await suite.connect(url)),
    ]
    const press = pressAt('front', 100, baseMs + DAY_MS)
    await Promise.all(nodes.map((node) => node.commit({ events: [press], chunks: [] })))
    const page = await (nodes[1] as PostgresEventStore).queryEvents({ deviceId: 'front' })
    expect(page.items).toEqual([press])
  })

  it('queues a press for alert routing once when three nodes store it, and no reading', async () => {
    const url = await suite.freshDatabase()
    const db = await suite.connect(url)
    const nodes = await Promise.all(
      [1, 2, 3].map(
        async () => new PostgresEventStore(await suite.connect(url), { isAlertIntake: isAlertRelevant }),
      ),
    )
    const press = pressAt('front', 300, baseMs + 3 * DAY_MS)
    const reading = readingAt('front', 301, baseMs + 3 * DAY_MS)
    await Promise.all(nodes.map((node) => node.commit({ events: [press, reading], chunks: [] })))
    const first = await db.query<{ event_id: string }>('SELECT event_id FROM alert_intake')
    expect(first.rows).toEqual([{ event_id: press.id }])
    // Routed (the row deleted), then stored again by a node that had not seen it: not queued again.
    await db.query('DELETE FROM alert_intake')
    await (nodes[0] as PostgresEventStore).commit({ events: [press], chunks: [] })
    expect((await db.query('SELECT event_id FROM alert_intake')).rows).toEqual([])
  })

  it('commits readings alone as one statement without BEGIN and COMMIT, a press and its announcement in one transaction', async () => {
    const db = await suite.connect(await suite.freshDatabase())
    // The statements each checked-out connection runs (pg-pool's acquire event: no module mocked).
    const texts: string[] = []
    const seen = new WeakSet<object>()
    db.pool.on('acquire', (client) => {
      if (seen.has(client)) return
      seen.add(client)
      const query = client.query.bind(client) as (...args: unknown[]) => unknown
      ;(client as unknown as { query: (...args: unknown[]) => unknown }).query = (config, ...rest) => {
        texts.push(typeof config === 'string' ? config : (config as { text: string }).text)
        return query(config, ...rest)
      }
    })
    const store = new PostgresEventStore(db, {
      notify: { channel: 'doorbell_test', nodeId: 'n1', isAnnounced: (event) => event.class === 'high' },
    })
    const readings = [readingAt('front', 1, baseMs), readingAt('front', 2, baseMs)]
    await store.commit({ events: readings, chunks: [] })
    expect(texts).toHaveLength(1)
    expect(texts[0]).toMatch(/^INSERT INTO events/)
    texts.length = 0
    const press = pressAt('front', 3, baseMs)
    await store.commit({ events: [press], chunks: [] })
    expect(texts[0]).toBe('BEGIN')
    expect(texts.some((text) => text.includes('pg_notify'))).toBe(true)
    expect(texts.at(-1)).toBe('COMMIT')
    const stored = (await store.queryEvents({ deviceId: 'front' })).items.map((event) => event.id)
    expect(stored.sort()).toEqual([...readings, press].map((event) => event.id).sort())
  })

  it("keeps an event a device sent under another device's id out, as the Level store does", async () => {
    const url = await suite.freshDatabase()
    const store = new PostgresEventStore(await suite.connect(url))
    const genuine = pressAt('front', 1, baseMs)
    await store.commit({ events: [genuine], chunks: [] })
    await store.commit({ events: [{ ...genuine, deviceId: 'back' }], chunks: [] })
    expect(await store.getEvent(genuine.id)).toEqual(genuine)
    expect((await store.queryEvents({ deviceId: 'back' })).items).toEqual([])
  })

  it('writes a commit whole or not at all when the database refuses part of it', async () => {
    const url = await suite.freshDatabase()
    const store = new PostgresEventStore(await suite.connect(url))
    const good = pressAt('front', 200, baseMs + 2 * DAY_MS)
    // A class the schema refuses makes the whole transaction roll back, the good event with it.
    const bad = { ...readingAt('front', 201, baseMs + 2 * DAY_MS), class: 'urgent' } as unknown as StoredEvent
    await expect(store.commit({ events: [good, bad], chunks: [] })).rejects.toMatchObject({
      code: 'STORE_WRITE_FAILED',
    })
    expect(await store.getEvent(good.id)).toBeUndefined()
  })
})
