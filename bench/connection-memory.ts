#!/usr/bin/env node
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type BenchBroker, type BrokerKind, startBenchBroker } from './bench-brokers.js'
import { type BenchFigure, emitFigures } from './bench-figures.js'
import { Crowd, makeCrowd } from './mqtt-crowd.js'
import { median } from './stats.js'

/**
 * Memory per idle authenticated connection: the collector, bare aedes and mosquitto, each in its own
 * process. Devices connect as the agent does (bench/mqtt-crowd.ts: credentials for the collector, a will,
 * SUBSCRIBE to their ack and command topics) a few hundred at a time, then sit idle. The figure is the
 * slope of the broker's resident memory (VmRSS) between BENCH_MEMORY_BASE (default 500) and
 * BENCH_MEMORY_DEVICES (default 3,000) connections, so what the process holds anyway (code, heap
 * reserve, the store) drops out. The node brokers preload bench/memory-probe.ts, which runs full
 * collections before each sample (without it the slope swung 21-33 KiB with GC timing) and reports the
 * V8 heap in use too. BENCH_RUNS (default 3) alternating runs, medians.
 */

const baseCount = Number(process.env.BENCH_MEMORY_BASE ?? 500)
const totalCount = Number(process.env.BENCH_MEMORY_DEVICES ?? 3_000)
const runs = Number(process.env.BENCH_RUNS ?? 3)
const settleMs = 2_000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Sample {
  /** VmRSS, KiB (after full collections for the node brokers). */
  readonly rssKiB: number
  /** V8 heap in use after full collections, KiB (node brokers only). */
  readonly heapKiB: number
}

const probe = fileURLToPath(new URL('./memory-probe.js', import.meta.url))

async function sample(broker: BenchBroker, probeFile: string): Promise<Sample> {
  if (broker.kind === 'mosquitto') return { rssKiB: broker.rssKiB(), heapKiB: Number.NaN }
  rmSync(probeFile, { force: true })
  process.kill(broker.pid, 'SIGUSR2')
  for (let i = 0; i < 100 && !existsSync(probeFile); i++) await sleep(50)
  const usage = JSON.parse(readFileSync(probeFile, 'utf8')) as { heapUsed: number }
  if (process.env.BENCH_MEMORY_VERBOSE) process.stderr.write(`${broker.kind} ${JSON.stringify(usage)}\n`)
  return { rssKiB: broker.rssKiB(), heapKiB: usage.heapUsed / 1024 }
}

async function oneRun(
  kind: BrokerKind,
  dir: string,
  devices: ReturnType<typeof makeCrowd>,
): Promise<{ rss: number; heap: number }> {
  const probeFile = join(dir, 'probe.json')
  process.env.BENCH_MEMORY_PROBE_FILE = probeFile
  const broker: BenchBroker = await startBenchBroker(kind, {
    dir,
    nodeFlags: ['--expose-gc', '--import', probe],
  })
  const crowd = new Crowd(devices, {
    port: broker.port,
    withCredentials: kind === 'collector',
    keepaliveS: 300,
    backoff: { initialDelayMs: 1_000, maxDelayMs: 60_000 },
  })
  try {
    await crowd.connectGradually(0, baseCount)
    await sleep(settleMs)
    const before = await sample(broker, probeFile)
    await crowd.connectGradually(baseCount, totalCount)
    await sleep(settleMs)
    const after = await sample(broker, probeFile)
    if (crowd.counts.connected !== totalCount) throw new Error(`${kind}: ${crowd.counts.connected} connected`)
    const added = totalCount - baseCount
    return { rss: (after.rssKiB - before.rssKiB) / added, heap: (after.heapKiB - before.heapKiB) / added }
  } finally {
    await crowd.stop()
    await broker.stop()
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-conn-memory-'))
  mkdirSync(join(dir, 'data'))
  const devices = makeCrowd(totalCount, join(dir, 'data'))
  const allKinds: BrokerKind[] = ['collector', 'aedes', 'mosquitto']
  const picked = allKinds.filter((k) => process.env.BENCH_ONLY?.split(',').includes(k))
  const kinds = picked.length > 0 ? picked : allKinds
  const results = new Map<BrokerKind, { rss: number; heap: number }[]>()
  try {
    for (let run = 0; run < runs; run++) {
      for (const kind of kinds) {
        const kib = await oneRun(kind, dir, devices)
        results.set(kind, [...(results.get(kind) ?? []), kib])
        process.stderr.write(
          `run ${run + 1}/${runs} ${kind}: ${kib.rss.toFixed(1)} KiB RSS, ${kib.heap.toFixed(1)} KiB heap per connection\n`,
        )
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const of = (kind: BrokerKind, pick: 'rss' | 'heap') => (results.get(kind) ?? []).map((r) => r[pick])
  const aedesRss = median(of('aedes', 'rss'))
  const aedesHeap = median(of('aedes', 'heap'))
  const lines = [
    `Memory per idle authenticated connection: slope from ${baseCount} to ${totalCount} connections, after full collections (node brokers), median of ${runs} runs. Goal: collector RSS <= 16 KiB.`,
    '',
    '| broker | RSS KiB per connection (median) | per-run (min-max) | vs bare aedes | V8 heap KiB per connection | vs bare aedes |',
    '|---|---:|---:|---:|---:|---:|',
  ]
  const figures: BenchFigure[] = []
  for (const kind of kinds) {
    const rss = of(kind, 'rss')
    const value = median(rss)
    const heap = median(of(kind, 'heap'))
    lines.push(
      `| ${kind} | ${value.toFixed(1)} | ${Math.min(...rss).toFixed(1)}-${Math.max(...rss).toFixed(1)} | ${(value / aedesRss).toFixed(2)}x | ${Number.isFinite(heap) ? heap.toFixed(1) : '-'} | ${Number.isFinite(heap) ? `${(heap / aedesHeap).toFixed(2)}x` : '-'} |`,
    )
    if (kind === 'aedes') continue
    const reference = kinds.includes('aedes') ? 'bare aedes' : undefined
    figures.push({
      name: `memory per idle connection ${kind}`,
      value,
      unit: 'KiB',
      better: 'lower',
      ...(reference ? { reference, referenceValue: aedesRss } : {}),
    })
    if (Number.isFinite(heap))
      figures.push({
        name: `heap per idle connection ${kind}`,
        value: heap,
        unit: 'KiB',
        better: 'lower',
        ...(reference ? { reference, referenceValue: aedesHeap } : {}),
      })
  }
  process.stdout.write(`${lines.join('\n')}\n`)
  emitFigures('connection-memory', figures)
}

await main()
