import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startCollectorProcess } from '../../faults/support/collector-process.js'
import { tempDir } from '../collector-harness.js'

/** The engines' client libraries; the embedded default must start without loading any of them. */
const fleetModules = ['pg', 'ioredis', 'mqemitter-redis', 'aedes-persistence-redis', 'node-pg-migrate']

describe('embedded default', () => {
  const dir = tempDir('embedded-default')
  afterAll(() => dir.cleanup())

  it('starts on Level without loading the PostgreSQL or Redis modules', async () => {
    const hook = join(dir.path, 'record-modules.mjs')
    const record = join(dir.path, 'loaded.txt')
    // A module resolution hook in the collector process writes down every fleet module it resolves.
    writeFileSync(
      hook,
      `import { registerHooks } from 'node:module'
import { appendFileSync } from 'node:fs'
const names = ${JSON.stringify(fleetModules)}
registerHooks({ resolve(specifier, context, next) {
  const result = next(specifier, context)
  const name = result.url.split('/node_modules/')[1]?.split('/')[0]
  if (names.includes(name)) appendFileSync(${JSON.stringify(record)}, name + '\\n')
  return result
} })
appendFileSync(${JSON.stringify(record)}, 'hook loaded\\n')
`,
    )
    const config = join(dir.path, 'collector.yaml')
    writeFileSync(
      config,
      `dataDir: ${join(dir.path, 'data')}\nhost: 127.0.0.1\nmqtt: { port: 0, wsPort: null }\nhttp: { port: 0 }\n`,
    )
    const collector = await startCollectorProcess(config, 15_000, ['env', `NODE_OPTIONS=--import=${hook}`])
    await collector.stop()
    expect(readFileSync(record, 'utf8')).toBe('hook loaded\n')
  })
})
