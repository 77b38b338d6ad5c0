import { type ChildProcess, spawn } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const ticksPerS = 100

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** The fields of /proc/<pid>/stat after the command name (field 3 first). */
function statFields(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')
  } catch {
    return undefined
  }
}

/**
 * CPU ms a process and its children used so far: its own utime + stime, the children it reaped (cutime +
 * cstime) and the live ones (PostgreSQL's backends are children of the postmaster).
 */
export function treeCpuMs(pid: number): number {
  const own = statFields(pid)
  if (!own) return Number.NaN
  // Fields 14-17 (utime, stime, cutime, cstime) are at 11-14 here.
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14])
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const fields = statFields(Number(entry))
    // Field 4 (ppid) is at 1.
    if (fields && Number(fields[1]) === pid) ticks += Number(fields[11]) + Number(fields[12])
  }
  return (ticks * 1000) / ticksPerS
}

/** Resident memory of a process and its live children, in bytes. */
export function treeRssBytes(pid: number): number {
  const rssOf = (p: number): number => {
    try {
      const line = readFileSync(`/proc/${p}/status`, 'utf8')
        .split('\n')
        .find((l) => l.startsWith('VmRSS:'))
      return Number(line?.split(/\s+/)[1] ?? 0) * 1024
    } catch {
      return 0
    }
  }
  let bytes = rssOf(pid)
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const fields = statFields(Number(entry))
    if (fields && Number(fields[1]) === pid) bytes += rssOf(Number(entry))
  }
  return bytes
}

/** A doorbell-collector process of the benchmark. */
export interface NodeProcess {
  readonly pid: number
  readonly mqttPort: number
  kill9(): Promise<void>
  stop(): Promise<void>
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => resolve())
  })
}

/** Writes a node config (YAML lines) and starts the built collector on it; resolves on `collector ready`. */
export async function startNode(configFile: string, lines: readonly string[]): Promise<NodeProcess> {
  writeFileSync(configFile, `${lines.join('\n')}\n`)
  const child = spawn(process.execPath, [join(root, 'dist/collector/main.js'), '--config', configFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, DOORBELL_LOG_LEVEL: 'info' },
  })
  const mqttPort = await new Promise<number>((resolve, reject) => {
    let buffer = ''
    const timer = setTimeout(() => reject(new Error('collector did not start in 60 s')), 60_000)
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString()
      for (const line of buffer.split('\n')) {
        if (!line.includes('collector ready')) continue
        clearTimeout(timer)
        resolve((JSON.parse(line) as { mqttPort: number }).mqttPort)
      }
      buffer = buffer.slice(buffer.lastIndexOf('\n') + 1)
    })
    child.once('exit', (code) => reject(new Error(`collector exited with ${code}`)))
  })
  // Log lines are not read after start; drained so a full pipe never blocks the node.
  child.stdout?.resume()
  return {
    pid: child.pid as number,
    mqttPort,
    async kill9() {
      child.kill('SIGKILL')
      await exited(child)
    },
    async stop() {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited(child)
      clearTimeout(timer)
    },
  }
}

/** The q quantile of sorted values. */
export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN
}
