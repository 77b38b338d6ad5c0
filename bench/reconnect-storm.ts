#!/usr/bin/env node
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BenchBroker, type BrokerKind, startBenchBroker } from './bench-brokers.js'
import { type BenchFigure, emitFigures } from './bench-figures.js'
import { Crowd, makeCrowd } from './mqtt-crowd.js'
import { median } from './stats.js'

/**
 * A reconnect storm: BENCH_STORM_DEVICES (default 10,000) doorbells on loopback, each from its own
 * address, against the collector, bare aedes and mosquitto, each broker in its own process.
 *
 *   at once   every device sends its CONNECT in the same moment to a broker that just started: the worst
 *             case, as if the whole street had been waiting. Time from the first connect to the last
 *             CONNACK 0, and the broker's CPU time over that.
 *   restart   every device connected, then the broker is stopped and started again on the same port
 *             (the collector keeps its data folder); each device retries with the agent's own backoff
 *             (1 s doubling to 60 s, equal jitter). Time from the new broker's ready line to the last
 *             CONNACK 0, the broker's CPU time over that, and the most CONNACKs in any 100 ms.
 *
 * Needs about two file descriptors per device over both processes: the script re-runs itself under
 * `ulimit -n 65536` when the limit is lower (it cannot raise it past the hard limit when not root: run it
 * from a shell with `ulimit -n 65536`). BENCH_RUNS (default 3) alternating runs, medians.
 */

const devicesWanted = Number(process.env.BENCH_STORM_DEVICES ?? 10_000)
const runs = Number(process.env.BENCH_RUNS ?? 3)
const stormTimeoutMs = 60_000

function openFileLimit(): number {
  const out = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim()
  return out === 'unlimited' ? Number.POSITIVE_INFINITY : Number(out)
}

const needFiles = devicesWanted + 1024
if (openFileLimit() < needFiles && !process.env.BENCH_STORM_REEXEC) {
  const result = spawnSync(
    'sh',
    [
      '-c',
      `ulimit -n ${Math.max(65_536, needFiles)} && exec "$0" "$@"`,
      process.execPath,
      ...process.argv.slice(1),
    ],
    { stdio: 'inherit', env: { ...process.env, BENCH_STORM_REEXEC: '1' } },
  )
  process.exit(result.status ?? 1)
}
// Under a hard limit we cannot raise: as many devices as the limit allows, said in the table.
const devices = Math.min(devicesWanted, Math.max(100, openFileLimit() - 1024))

interface StormResult {
  readonly ms: number
  readonly cpuMs: number
  readonly peakPer100ms: number
  readonly connected: number
  readonly attempts: number
}

function peakPer100ms(times: readonly number[]): number {
  const buckets = new Map<number, number>()
  for (const t of times) {
    const key = Math.floor(t / 100)
    buckets.set(key, (buckets.get(key) ?? 0) + 1)
  }
  return Math.max(0, ...buckets.values())
}

async function measureStorm(
  crowd: Crowd,
  broker: BenchBroker,
  startedAt: number,
  cpuBefore: number,
  attemptsBefore: number,
): Promise<StormResult> {
  const isAll = await crowd.waitFor(crowd.size, stormTimeoutMs)
  const doneAt = isAll ? (crowd.connectTimes.at(-1) as number) : performance.now()
  return {
    ms: doneAt - startedAt,
    cpuMs: broker.cpuMs() - cpuBefore,
    peakPer100ms: peakPer100ms(crowd.connectTimes.filter((t) => t >= startedAt)),
    connected: crowd.counts.connected,
    attempts: crowd.counts.attempts - attemptsBefore,
  }
}

async function oneRun(kind: BrokerKind, dir: string, crowdDevices: ReturnType<typeof makeCrowd>) {
  const dataDir = mkdtempSync(join(dir, 'data-'))
  spawnSync('cp', [join(dir, 'data', 'registry.json'), join(dataDir, 'registry.json')])
  const brokerOptions = { dir, dataDir }
  let broker = await startBenchBroker(kind, brokerOptions)
  const crowd = new Crowd(crowdDevices, {
    port: broker.port,
    withCredentials: kind === 'collector',
    keepaliveS: 60,
    backoff: { initialDelayMs: 1_000, maxDelayMs: 60_000 },
  })
  try {
    let cpuBefore = broker.cpuMs()
    let startedAt = performance.now()
    crowd.connectAllNow()
    const atOnce = await measureStorm(crowd, broker, startedAt, cpuBefore, 0)
    const attemptsBefore = crowd.counts.attempts
    await broker.stop()
    const downAt = performance.now()
    broker = await startBenchBroker(kind, { ...brokerOptions, port: broker.port })
    cpuBefore = broker.cpuMs()
    startedAt = performance.now()
    const restart = await measureStorm(crowd, broker, startedAt, cpuBefore, attemptsBefore)
    return { atOnce, restart, downMs: startedAt - downAt }
  } finally {
    await crowd.stop()
    await broker.stop()
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-storm-'))
  mkdirSync(join(dir, 'data'))
  const crowdDevices = makeCrowd(devices, join(dir, 'data'))
  const allKinds: BrokerKind[] = ['collector', 'aedes', 'mosquitto']
  const picked = allKinds.filter((k) => process.env.BENCH_ONLY?.split(',').includes(k))
  const kinds = picked.length > 0 ? picked : allKinds
  const results = new Map<BrokerKind, Awaited<ReturnType<typeof oneRun>>[]>()
  try {
    for (let run = 0; run < runs; run++) {
      for (const kind of kinds) {
        const result = await oneRun(kind, dir, crowdDevices)
        const list = results.get(kind) ?? []
        list.push(result)
        results.set(kind, list)
        const { atOnce, restart } = result
        process.stderr.write(
          `run ${run + 1}/${runs} ${kind}: at once ${atOnce.connected}/${devices} in ${atOnce.ms.toFixed(0)} ms (cpu ${atOnce.cpuMs} ms, ${atOnce.attempts} attempts); restart (down ${result.downMs.toFixed(0)} ms) ${restart.connected}/${devices} in ${restart.ms.toFixed(0)} ms (cpu ${restart.cpuMs} ms, peak ${restart.peakPer100ms}/100 ms, ${restart.attempts} attempts)\n`,
        )
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const figures: BenchFigure[] = []
  const lines = [
    `Reconnect storm: ${devices} devices on loopback (one address each), median of ${runs} runs. "at once": all CONNECT together to a fresh broker; "restart": broker stopped and started on the same port, devices retry with the agent's backoff (1 s doubling to 60 s, equal jitter), timed from the new broker's ready line. Goal: all ${devices} connected in <= 10 s.`,
    '',
    '| broker | at once: all connected ms | at once: broker CPU ms | restart: all connected ms | restart: broker CPU ms | restart: most CONNACKs in 100 ms | connected (at once / restart) |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ]
  const ref = (kind: BrokerKind, pick: (r: Awaited<ReturnType<typeof oneRun>>) => number) =>
    median((results.get(kind) ?? []).map(pick))
  for (const kind of kinds) {
    const list = results.get(kind) ?? []
    const m = (pick: (r: Awaited<ReturnType<typeof oneRun>>) => number) => median(list.map(pick))
    lines.push(
      `| ${kind} | ${m((r) => r.atOnce.ms).toFixed(0)} | ${m((r) => r.atOnce.cpuMs).toFixed(0)} | ${m((r) => r.restart.ms).toFixed(0)} | ${m((r) => r.restart.cpuMs).toFixed(0)} | ${m((r) => r.restart.peakPer100ms).toFixed(0)} | ${Math.min(...list.map((r) => r.atOnce.connected))} / ${Math.min(...list.map((r) => r.restart.connected))} |`,
    )
    if (kind === 'aedes') continue
    const reference = 'bare aedes'
    const withRef = (pick: (r: Awaited<ReturnType<typeof oneRun>>) => number) =>
      kinds.includes('aedes') ? { reference, referenceValue: ref('aedes', pick) } : {}
    figures.push(
      {
        name: `storm ${kind} at once all connected`,
        value: m((r) => r.atOnce.ms),
        unit: 'ms',
        better: 'lower',
        ...withRef((r) => r.atOnce.ms),
      },
      {
        name: `storm ${kind} at once CPU`,
        value: m((r) => r.atOnce.cpuMs),
        unit: 'ms',
        better: 'lower',
        ...withRef((r) => r.atOnce.cpuMs),
      },
      {
        name: `storm ${kind} restart all connected`,
        value: m((r) => r.restart.ms),
        unit: 'ms',
        better: 'lower',
        ...withRef((r) => r.restart.ms),
      },
    )
  }
  process.stdout.write(`${lines.join('\n')}\n`)
  emitFigures('reconnect-storm', figures)
}

await main()
