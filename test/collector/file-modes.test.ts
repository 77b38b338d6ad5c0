import { readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { DeadLetter } from '../../collector/alerts/dead-letter-log.js'
import { FileDeadLetterLog } from '../../collector/alerts/file-dead-letter-log.js'
import { topics } from '../../shared/protocol/index.js'
import { startCollectorProcess } from '../faults/support/collector-process.js'
import { addDevice, press, pubArgs, run, tempDir, text } from './collector-harness.js'

const modeOf = (path: string): number => statSync(path).mode & 0o777

/** Every file and folder under dir, with its mode. */
function walk(dir: string): { path: string; mode: number; isDir: boolean }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    const found = { path, mode: modeOf(path), isDir: entry.isDirectory() }
    return entry.isDirectory() ? [found, ...walk(path)] : [found]
  })
}

describe('file modes of the collector data folder', () => {
  const dir = tempDir('file-modes')
  afterAll(() => dir.cleanup())

  it('creates the Level store files 0600 in a 0700 folder, like the registry', async () => {
    const dataDir = join(dir.path, 'data')
    const secret = await addDevice(dataDir, 'porch')
    const config = join(dir.path, 'collector.yaml')
    writeFileSync(
      config,
      `dataDir: ${dataDir}\nhost: 127.0.0.1\nmqtt: {port: 0, wsPort: null}\nhttp: {port: null}\n`,
    )
    const collector = await startCollectorProcess(config)
    try {
      const sent = await run('mosquitto_pub', [
        ...pubArgs(collector.mqttPort, 'porch', secret, 'porch'),
        ...['-t', topics.event('porch', 'high'), '-m', text(press('porch', 1))],
      ])
      expect(sent.code, sent.stderr).toBe(0)
    } finally {
      await collector.stop()
    }
    expect(modeOf(join(dataDir, 'registry.json'))).toBe(0o600)
    expect(modeOf(join(dataDir, 'events'))).toBe(0o700)
    const level = walk(join(dataDir, 'events'))
    expect(level.length).toBeGreaterThan(0)
    for (const entry of level)
      expect({ path: entry.path, mode: entry.mode }).toEqual({
        path: entry.path,
        mode: entry.isDir ? 0o700 : 0o600,
      })
  })

  it('creates the dead-letter file 0600', async () => {
    const path = join(dir.path, 'alerts', 'dead-letters.jsonl')
    const letter = { atMs: 0, channel: 'hook', recipient: 'alice', attempts: 3, error: 'HTTP 500' }
    await new FileDeadLetterLog(path).append({ ...letter, alert: {} } as unknown as DeadLetter)
    expect(modeOf(path)).toBe(0o600)
    expect(modeOf(join(dir.path, 'alerts'))).toBe(0o700)
  })
})
