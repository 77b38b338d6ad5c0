import { afterEach, describe, expect, it } from 'vitest'
import type { CollectorConfig } from '../../../collector/config.js'
import { type ComposedCollector, startCollector } from '../../../collector/main.js'
import { tempDir, testConfig } from '../collector-harness.js'

const apiToken = 'operator-token-0123456789'

describe('/metrics and /api/openapi.json exposure', () => {
  const dirs: { cleanup: () => void }[] = []
  let running: ComposedCollector | undefined

  const start = async (http: Partial<CollectorConfig['http']>) => {
    const dir = tempDir('exposure')
    dirs.push(dir)
    running = await startCollector(testConfig(dir.path, { http: { port: 0, apiToken, ...http } }))
    const base = `http://127.0.0.1:${running.httpPort}`
    return async (path: string, token?: string) =>
      (await fetch(`${base}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {})).status
  }

  afterEach(async () => {
    await running?.close()
    running = undefined
    for (const dir of dirs.splice(0)) dir.cleanup()
  })

  it('answers /metrics and the OpenAPI document to the operator only, by default', async () => {
    const status = await start({})
    expect(await status('/metrics')).toBe(401)
    expect(await status('/api/openapi.json')).toBe(401)
    expect(await status('/metrics', 'wrong-token-0123456789')).toBe(401)
    expect(await status('/metrics', apiToken)).toBe(200)
    expect(await status('/api/openapi.json', apiToken)).toBe(200)
    expect(await status('/healthz')).toBe(200)
  })

  it('serves them to anyone with access public, and not at all with access off', async () => {
    const open = await start({ metricsAccess: 'public', openApiAccess: 'public' })
    expect(await open('/metrics')).toBe(200)
    expect(await open('/api/openapi.json')).toBe(200)
    await running?.close()
    const off = await start({ metricsAccess: 'off', openApiAccess: 'off' })
    expect(await off('/metrics', apiToken)).toBe(404)
    expect(await off('/api/openapi.json', apiToken)).toBe(404)
  })
})
