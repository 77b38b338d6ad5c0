import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { stringify } from 'yaml'

/** The built agent (npm test builds before vitest runs). */
export const builtAgentMain = new URL('../../../dist/agent/main.js', import.meta.url).pathname

/**
 * Writes dir/agent.yaml for a `front-door` agent of the built program: fast reconnects and batches, a
 * debounce-free button (test presses come milliseconds apart), data under dir/agent; `extra` adds fields.
 */
export async function writeAgentConfigFile(
  dir: string,
  mqtt: { url: string; secret: string },
  extra: Record<string, unknown> = {},
): Promise<string> {
  const file = join(dir, 'agent.yaml')
  await writeFile(
    file,
    stringify({
      deviceId: 'front-door',
      mqtt: {
        url: mqtt.url,
        username: 'front-door',
        password: mqtt.secret,
        reconnectInitialMs: 50,
        reconnectMaxMs: 400,
      },
      dataDir: join(dir, 'agent'),
      gpio: { button: { line: 17, debounceMs: 0 } },
      medium: { batchIntervalMs: 100, batchMaxItems: 20 },
      logLevel: 'info',
      ...extra,
    }),
  )
  return file
}

/** Config fields of an agent without camera or microphone: for scenarios about events, where ffmpeg would take the CPU and the disk. */
export const withoutMedia = { media: { enabled: false, microphone: { enabled: false } } } as const

/** A `doorbell-agent --simulate` child process and its control endpoint. */
export interface AgentProcess {
  readonly child: ChildProcess
  readonly controlPort: number
  readonly lines: string[]
  post(path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }>
  get(path: string): Promise<Record<string, unknown>>
  /** True when the agent's outbox holds nothing (every event acknowledged by the collector). */
  isOutboxEmpty(): Promise<boolean>
  /**
   * SIGKILL, as a power cut would; resolves once the agent and the children it had (ffmpeg, arecord), which the
   * kernel sends SIGTERM through PR_SET_PDEATHSIG, are gone, so nothing still writes into its data folder.
   */
  kill9(): Promise<void>
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>
  /** Everything the agent wrote to stderr so far. */
  stderr(): string
  /** The signal the agent (or the program that execs it) died of, once it has exited; null if it exited. */
  exitSignal(): NodeJS.Signals | null
}

/** The agent exited (or was not ready in time) before 'agent ready'; carries how it ended. */
export class AgentStartError extends Error {
  /** The signal the process died of, or null (exited with a code, or not ready in time). */
  readonly signal: NodeJS.Signals | null
  readonly stderr: string

  constructor(message: string, signal: NodeJS.Signals | null, stderr: string) {
    super(message)
    this.signal = signal
    this.stderr = stderr
  }
}

/** Which Node runs which agent: by default this Node and the built agent of this repository. */
export interface AgentProgram {
  readonly node?: string
  readonly main?: string
}

/**
 * Starts the built agent with --simulate and the given config file; resolves on 'agent ready'. `prefix`
 * runs it through another program that execs it (`ip netns exec NS`: same PID, another network namespace;
 * the control endpoint is then on that namespace's loopback; or an emulator that runs an arm64 Node).
 */
export async function startAgentProcess(
  configFile: string,
  deadlineMs = 15_000,
  prefix: readonly string[] = [],
  program: AgentProgram = {},
): Promise<AgentProcess> {
  const main = program.main ?? builtAgentMain
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build`)
  const argv = [program.node ?? process.execPath, main, '--simulate', '--config', configFile]
  const [command, ...args] = [...prefix, ...argv] as [string, ...string[]]
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  let stderr = ''
  child.stderr?.on('data', (d) => {
    stderr += String(d)
  })
  const controlPort = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new AgentStartError(`agent not ready in ${deadlineMs} ms: ${stderr}`, null, stderr)),
      deadlineMs,
    )
    child.once('exit', (code, signal) =>
      reject(new AgentStartError(`agent exited with ${code ?? signal}: ${stderr}`, signal, stderr)),
    )
    if (!child.stdout) throw new Error('no stdout')
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line)
      try {
        const entry = JSON.parse(line) as { msg?: string; controlPort?: number }
        if (entry.msg === 'agent ready' && entry.controlPort) {
          clearTimeout(timer)
          resolve(entry.controlPort)
        }
      } catch {
        // not a log line
      }
    })
  })
  const base = `http://127.0.0.1:${controlPort}`
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const get = async (path: string): Promise<Record<string, unknown>> =>
    (await (await fetch(`${base}${path}`)).json()) as Record<string, unknown>
  return {
    child,
    controlPort,
    lines,
    async post(path, body) {
      const res = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body ?? {}),
      })
      return { status: res.status, body: (await res.json()) as Record<string, unknown> }
    },
    get,
    async isOutboxEmpty() {
      return ((await get('/state')).outbox as { totalBytes: number }).totalBytes === 0
    },
    async kill9() {
      const children = child.pid === undefined ? [] : descendantsOf(child.pid)
      child.kill('SIGKILL')
      await exited
      await waitUntilGone(children, 5000)
    },
    async stop() {
      child.kill('SIGTERM')
      return exited
    },
    stderr: () => stderr,
    exitSignal: () => child.signalCode,
  }
}

/** The PIDs below pid, from /proc (Linux); empty when the process is already gone. */
function descendantsOf(pid: number): number[] {
  const found: number[] = []
  const queue = [pid]
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    let tasks: string[]
    try {
      tasks = readdirSync(`/proc/${next}/task`)
    } catch {
      continue
    }
    for (const task of tasks) {
      let children = ''
      try {
        children = readFileSync(`/proc/${next}/task/${task}/children`, 'utf8')
      } catch {
        // the thread ended meanwhile
      }
      for (const child of children.split(' ').filter(Boolean).map(Number)) {
        found.push(child)
        queue.push(child)
      }
    }
  }
  return found
}

/** Polls until none of pids exists, or throws after timeoutMs naming those left. */
async function waitUntilGone(pids: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let alive = pids
  while (alive.length > 0) {
    alive = alive.filter(isRunning)
    if (alive.length === 0) return
    if (Date.now() > deadline)
      throw new Error(`agent children still running after SIGKILL: ${alive.join(', ')}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** True while pid exists and is not a zombie. */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}
