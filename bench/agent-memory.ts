#!/usr/bin/env node
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { startBenchCollectorProcess } from './agent-bench-harness.js'
import { type BenchFigure, emitFigures } from './bench-figures.js'
import { median } from './stats.js'

/**
 * Idle memory of the agent: `doorbell-agent --simulate` connected to a broker with an acker (in another
 * process), media off (camera, microphone and live view disabled) and on (the simulated camera and
 * microphone, live view enabled but idle), beside bare node (`node -e` with one timer) in the same run.
 * The agent runs with the node flags and the MALLOC_ARENA_MAX of its systemd unit (BENCH_AGENT_NODE_FLAGS and
 * BENCH_AGENT_ENV replace them).
 * Each agent settles BENCH_AGENT_SETTLE_S (default 10 s) after it is online, then its VmRSS is sampled
 * every 200 ms for 3 s; the figure is the median sample. The agent's ffmpeg child (media on) is its own
 * process and reported beside, not added. Goals: <= 64 MiB media off, <= 80 MiB media on. BENCH_RUNS
 * (default 3) alternating runs, medians.
 */

const runs = Number(process.env.BENCH_RUNS ?? 3)
const settleMs = Number(process.env.BENCH_AGENT_SETTLE_S ?? 10) * 1000
const root = fileURLToPath(new URL('../../', import.meta.url))

type Kind = 'bare node' | 'agent, media off' | 'agent, media on'

/** The node flags of the agent's systemd unit (its ExecStart line), so the agent runs as deployed. */
function deployedNodeFlags(): string[] {
  const unit = readFileSync(join(root, 'deploy/raspberry-pi/doorbell-agent.service'), 'utf8')
  const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1]?.split(/\s+/) ?? []
  return exec
    .slice(
      1,
      exec.findIndex((word) => word.endsWith('/agent/main.js')),
    )
    .filter((w) => w.startsWith('--'))
}

/**
 * The unit's Environment= lines that tune the process (MALLOC_ARENA_MAX), so the agent runs with them; the
 * DOORBELL_* ones point at the Pi's folders and stay out. BENCH_AGENT_ENV="" runs without them.
 */
function deployedEnvironment(): Record<string, string> {
  if (process.env.BENCH_AGENT_ENV !== undefined)
    return Object.fromEntries(
      process.env.BENCH_AGENT_ENV.split(' ')
        .filter(Boolean)
        .map((pair) => pair.split('=', 2) as [string, string]),
    )
  const unit = readFileSync(join(root, 'deploy/raspberry-pi/doorbell-agent.service'), 'utf8')
  return Object.fromEntries(
    [...unit.matchAll(/^Environment=(\w+)=(.*)$/gm)]
      .filter((m) => !m[1]?.startsWith('DOORBELL_') && m[1] !== 'NODE_ENV')
      .map((m) => [m[1] as string, m[2] as string]),
  )
}

function rssKiB(pid: number | undefined): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])
  } catch {
    return Number.NaN
  }
}

/** Resident memory of pid's child processes (the agent's ffmpeg), in KiB. */
function childrenRssKiB(pid: number | undefined): number {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
    return children.reduce(
      (sum, child) => sum + (rssKiB(Number(child)) || 0) + childrenRssKiB(Number(child)),
      0,
    )
  } catch {
    return 0
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
function agentConfig(dir: string, url: string, isMediaOn: boolean): string {
  const file = join(dir, `agent-${isMediaOn ? 'on' : 'off'}.yaml`)
  writeFileSync(
    file,
    [
      'deviceId: bench-agent',
      `mqtt: { url: '${url}' }`,
      `dataDir: ${mkdtempSync(join(dir, 'data-'))}`,
      'logLevel: info',
      ...(isMediaOn
        ? []
        : ['media: { enabled: false, microphone: { enabled: false } }', 'live: { enabled: false }']),
    ].join('\n'),
  )
  return file
}

async function waitForOnline(child: ChildProcess): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('agent did not come online')), 30_000)
    child.once('exit', (code) => reject(new Error(`agent exited with ${code}`)))
    if (!child.stdout) return reject(new Error('no stdout'))
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.includes('uplink online')) return
      clearTimeout(timer)
      resolve()
    })
  })
}

async function oneRun(kind: Kind, dir: string, url: string): Promise<{ rss: number; children: number }> {
  const flags = process.env.BENCH_AGENT_NODE_FLAGS?.split(' ').filter(Boolean) ?? deployedNodeFlags()
  const args =
    kind === 'bare node'
      ? ['-e', 'setInterval(() => {}, 1000)']
      : [
          ...flags,

          join(root, 'dist/agent/main.js'),
          '--simulate',
          '--config',
          agentConfig(dir, url, kind === 'agent, media on'),
        ]
  const env = kind === 'bare node' ? process.env : { ...process.env, ...deployedEnvironment() }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env })
  try {
    if (kind !== 'bare node') await waitForOnline(child)
    await sleep(settleMs)
    const samples: number[] = []
    let children = 0
    for (let i = 0; i < 15; i++) {
      samples.push(rssKiB(child.pid))
      children = Math.max(children, childrenRssKiB(child.pid))
      await sleep(200)
    }
    return { rss: median(samples) / 1024, children: children / 1024 }
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-agent-memory-'))
  const collector = await startBenchCollectorProcess()
  const kinds: Kind[] = ['bare node', 'agent, media off', 'agent, media on']
  const results = new Map<Kind, { rss: number; children: number }[]>()
  try {
    for (let run = 0; run < runs; run++) {
      for (const kind of kinds) {
        const result = await oneRun(kind, dir, collector.url)
        results.set(kind, [...(results.get(kind) ?? []), result])
        process.stderr.write(
          `run ${run + 1}/${runs} ${kind}: ${result.rss.toFixed(1)} MiB RSS (children ${result.children.toFixed(1)} MiB)\n`,
        )
      }
    }
  } finally {
    await collector.close()
    rmSync(dir, { recursive: true, force: true })
  }
  const of = (kind: Kind) => results.get(kind) ?? []
  const bare = median(of('bare node').map((r) => r.rss))
  const goals: Record<Kind, string> = {
    'bare node': '-',
    'agent, media off': '<= 64',
    'agent, media on': '<= 80',
  }
  const lines = [
    `Agent idle RSS (--simulate, connected, node flags ${JSON.stringify(process.env.BENCH_AGENT_NODE_FLAGS ?? deployedNodeFlags().join(' '))}, environment ${JSON.stringify(deployedEnvironment())}, ${settleMs / 1000} s after online; median of 15 samples), median of ${runs} runs.`,
    '',
    '| process | RSS MiB (median) | per-run (min-max) | vs bare node | goal MiB | child processes MiB (ffmpeg) |',
    '|---|---:|---:|---:|---:|---:|',
  ]
  const figures: BenchFigure[] = []
  for (const kind of kinds) {
    const rss = of(kind).map((r) => r.rss)
    const value = median(rss)
    lines.push(
      `| ${kind} | ${value.toFixed(1)} | ${Math.min(...rss).toFixed(1)}-${Math.max(...rss).toFixed(1)} | ${(value / bare).toFixed(2)}x | ${goals[kind]} | ${median(of(kind).map((r) => r.children)).toFixed(1)} |`,
    )
    if (kind !== 'bare node')
      figures.push({
        name: `agent idle RSS, ${kind.slice(7)}`,
        value,
        unit: 'MiB',
        better: 'lower',
        reference: 'bare node',
        referenceValue: bare,
      })
  }
  process.stdout.write(`${lines.join('\n')}\n`)
  emitFigures('agent-memory', figures)
}

await main()
