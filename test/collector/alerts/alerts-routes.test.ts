import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ComposedCollector, startCollector } from '../../../collector/main.js'
import { tempDir, testConfig } from '../collector-harness.js'
import { pressAt } from '../dashboard/snapshot-fixtures.js'

const apiToken = 'operator-token-0123456789'

describe('alerts API: visitor statistics', () => {
  const dir = tempDir('alerts-routes')
  let running: ComposedCollector
  let app: FastifyInstance
  const auth = { authorization: `Bearer ${apiToken}` }

  beforeAll(async () => {
    running = await startCollector(testConfig(dir.path, { http: { port: 0, apiToken } }))
    if (!running.http) throw new Error('no http')
    app = running.http
    // 2024-07-01 02:30 UTC: 22:30 the evening before in New York, 11:30 in Tokyo.
    const atMs = Date.UTC(2024, 6, 1, 2, 30)
    await running.store.commit({
      events: [{ ...pressAt('front-door', 1, atMs), receivedAtMs: atMs }],
      chunks: [],
    })
  })
  afterAll(async () => {
    await running?.close()
    dir.cleanup()
  })

  const stats = (query: string) => app.inject({ url: `/api/stats/visitors?${query}`, headers: auth })
  const range = `fromMs=${Date.UTC(2024, 5, 30)}&toMs=${Date.UTC(2024, 6, 2)}`

  it('answers 400 naming timeZone, not 500, for visitor statistics in a zone that does not exist', async () => {
    for (const zone of ['Mars/Olympus', 'not a zone', 'UTC+99']) {
      const res = await stats(`${range}&timeZone=${encodeURIComponent(zone)}`)
      expect(res.statusCode, zone).toBe(400)
      expect(res.json<{ error: string }>().error).toMatch(/IANA time zone[\s\S]*timeZone/)
    }
  })

  it('counts presses by the hour of the zone asked for', async () => {
    const hourOf = async (zone: string) => {
      const res = await stats(`${range}&timeZone=${encodeURIComponent(zone)}`)
      expect(res.statusCode).toBe(200)
      return res.json<{ presses: { peakHours: number[] } }>().presses.peakHours
    }
    expect(await hourOf('America/New_York')).toEqual([22])
    expect(await hourOf('Asia/Tokyo')).toEqual([11])
    expect(await hourOf('UTC')).toEqual([2])
  })
})
