import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { agentConfigSchema } from '../../../agent/config/agent-config.js'
import { loadConfig } from '../../../shared/config/load-config.js'

describe('agent config', () => {
  it('starts from exactly what `doorbell-admin devices add --write-config` writes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agent-config-'))
    const file = join(dir, 'agent.yaml')
    await writeFile(
      file,
      [
        'deviceId: front-door',
        'mqtt:',
        '  url: mqtts://collector.local:8883',
        '  username: front-door',
        '  password: s3cret',
        '  caFile: /etc/doorbell/ca.pem',
      ].join('\n'),
    )
    const config = loadConfig({ schema: agentConfigSchema, file, env: {} })
    expect(config.mqtt).toMatchObject({ url: 'mqtts://collector.local:8883', caFile: '/etc/doorbell/ca.pem' })
    expect(config.medium).toMatchObject({ batchIntervalMs: 10_000, batchMaxItems: 50 })
    expect(config.gpio.button).toEqual({ line: 17, activeLow: true, debounceMs: 50 })
    expect(config.dataDir).toBe('./data/agent')
    expect(config.media.enabled).toBe(true)
    expect(Object.isFrozen(config.gpio)).toBe(true)
    await rm(dir, { recursive: true })
  })

  it('takes overrides from DOORBELL_* and lists every bad field at once', () => {
    const env = {
      DOORBELL_DEVICE_ID: 'a/b',
      DOORBELL_MQTT__URL: 'http://x',
      DOORBELL_MEDIUM__BATCH_MAX_ITEMS: '9999',
    }
    expect(() => loadConfig({ schema: agentConfigSchema, env })).toThrow(
      /deviceId[\s\S]*mqtt\.url[\s\S]*medium\.batchMaxItems/,
    )
  })
})
