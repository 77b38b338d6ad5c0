import { closeSync, openSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { type RunningCollector, startCollector } from '../../collector/main.js'
import { LevelEventStore } from '../../collector/store/level-event-store.js'
import { type Envelope, encodeEvent, topics } from '../../shared/protocol/index.js'
import { addDevice, metric, press, testConfig } from '../collector/collector-harness.js'
import { eventually } from '../support/eventually.js'
import { allStoredEvents, countFaultOutcome, envCount, printCountLine } from './support/fault-count.js'
import { mountTinyDisk, type TinyDisk } from './support/tiny-disk.js'

/**
 * Collector disk full: the collector's data folder is a small tmpfs, filled up with a ballast file
 * while a device sends FAULT_DISK_EVENTS presses. The collector must refuse with retry (STORE_DISK_FULL),
 * store nothing corrupt, and store everything once the ballast is gone and the device resends.
 */
const total = envCount('FAULT_DISK_EVENTS', 200)
const deviceId = 'porch'

interface AckPayload {
  ids: string[]
  rejected: { id: string; code: string; retry: boolean }[]
}

/** Writes 64 KiB blocks until the disk is full; returns the bytes written. */
function fillDisk(file: string): number {
  const fd = openSync(file, 'w')
  const block = Buffer.alloc(64 * 1024, 0x5a)
  let written = 0
  try {
    for (;;) written += writeSync(fd, block)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
  } finally {
    closeSync(fd)
  }
  return written
}

describe('fault: the collector disk fills up', () => {
  let collector: RunningCollector | undefined
  let client: MqttClient | undefined
  let disk: TinyDisk | undefined

  afterEach(async () => {
    await client?.endAsync(true)
    await collector?.close()
    disk?.release()
  })

  it('refuses with retry while full, corrupts nothing, and stores everything once space returns', async (context) => {
    const mounted = mountTinyDisk('fault-collector-disk', '8m')
    if ('refused' in mounted) {
      context.skip(`tmpfs mount refused (${mounted.refused}); run as root`)
      return
    }
    disk = mounted
    const dataDir = mounted.path
    const secret = await addDevice(dataDir, deviceId)
    collector = await startCollector(testConfig(dataDir))
    const running = collector
    const acks: AckPayload[] = []
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${running.mqttPort}`, {
      clientId: deviceId,
      username: deviceId,
      password: secret,
      clean: false,
      reconnectPeriod: 0,
    })
    client.on('message', (_t, m) => acks.push((JSON.parse(m.toString()) as { payload: AckPayload }).payload))
    await client.subscribeAsync(topics.ack(deviceId), { qos: 1 })
    const device = client
    const events: Envelope[] = Array.from({ length: total }, (_, i) => press(deviceId, i + 1))
    const acked = () => new Set(acks.flatMap((a) => a.ids))
    const send = (list: readonly Envelope[]) =>
      Promise.all(
        list.map((e) => device.publishAsync(topics.event(deviceId, 'high'), encodeEvent(e), { qos: 1 })),
      )

    // A first quarter while there is room.
    const first = events.slice(0, total / 4)
    await send(first)
    await eventually(() => first.every((e) => acked().has(e.id)), 'acks before the disk fills', 10_000)

    const ballast = join(dataDir, 'ballast')
    const ballastBytes = fillDisk(ballast)
    const rest = events.slice(total / 4)
    await send(rest)
    const refused = () => new Set(acks.flatMap((a) => a.rejected.filter((r) => r.retry).map((r) => r.id)))
    await eventually(
      () => rest.every((e) => acked().has(e.id) || refused().has(e.id)),
      'answers while full',
      10_000,
    )
    const refusedWhileFull = rest.filter((e) => refused().has(e.id) && !acked().has(e.id))
    const codes = new Set(acks.flatMap((a) => a.rejected.map((r) => r.code)))
    const failures = await metric(running, 'doorbell_collector_commit_failures_total')

    // Space returns; the device resends what was refused (as the agent does after retryDelayMs).
    rmSync(ballast)
    for (let round = 0; round < 20 && !events.every((e) => acked().has(e.id)); round++) {
      await send(events.filter((e) => !acked().has(e.id)))
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    const recovered = events.every((e) => acked().has(e.id))
    const storedBeforeRestart = (await allStoredEvents(running.store, deviceId)).length
    await device.endAsync()
    client = undefined
    await running.close()
    collector = undefined

    // Nothing corrupt: the store opens and reads back whole.
    const store = await LevelEventStore.open({ path: join(dataDir, 'events'), isSyncWrite: false })
    try {
      const stored = await allStoredEvents(store, deviceId)
      const count = countFaultOutcome(new Set(events.map((e) => e.id)), stored)
      printCountLine('collector-disk-full', count, {
        ballastMiB: (ballastBytes / 1048576).toFixed(1),
        refusedWhileFull: refusedWhileFull.length,
        codes: [...codes].join(','),
        commitFailures: failures,
        recovered,
        storedBeforeRestart,
      })
      expect(refusedWhileFull.length).toBeGreaterThan(0)
      expect(codes).toContain('STORE_DISK_FULL')
      expect(recovered).toBe(true)
      expect(count.lost).toBe(0)
      expect(count.duplicated).toBe(0)
    } finally {
      await store.close()
    }
  }, 120_000)
})
