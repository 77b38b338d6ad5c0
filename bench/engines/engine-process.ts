import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { findProgram } from './engine-binaries.js'

/** A server started as a child process, stopped by its own PID only. */
export interface EngineProcess {
  readonly name: string
  readonly pid: number
  /** Every line it printed so far (stdout and stderr), for error messages. */
  readonly lines: readonly string[]
  /** True until the process exited. */
  readonly isRunning: boolean
  /** Sends signal (default SIGTERM), then SIGKILL after graceMs; resolves once the process is gone. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>
  /** SIGKILL, as a crash would; resolves once the process is gone. */
  kill9(): Promise<void>
}

/** How to start an engine and how to tell it is ready. */
export interface EngineSpawn {
  readonly name: string
  readonly command: string
  readonly args: readonly string[]
  readonly options?: SpawnOptions
  /** A printed line that means "ready to serve"; or, for a server that prints none, a check polled until true. */
  readonly ready: RegExp | (() => Promise<boolean>)
  readonly readyTimeoutMs?: number
}

/**
 * Spawns an engine in the foreground (never daemonized, so its PID is the child's) and resolves when
 * it prints its ready line; rejects with its output when it exits first or is not ready in time.
 */
export async function spawnEngine(spec: EngineSpawn): Promise<EngineProcess> {
  let isRunning = true
  // setpriv --pdeathsig execs the engine (same PID) with the kernel set to kill it when its parent dies, so a
  // test run that is itself killed leaves no server behind.
  const setpriv = findProgram('setpriv')
  const [command, args] = setpriv
    ? [setpriv, ['--pdeathsig', 'KILL', '--', spec.command, ...spec.args]]
    : [spec.command, [...spec.args]]
  const child = spawn(command, args, { ...spec.options, stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  child.once('exit', () => {
    isRunning = false
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const timeoutMs = spec.readyTimeoutMs ?? 20_000
  await new Promise<void>((resolve, reject) => {
    const output = (): string => lines.slice(-30).join('\n')
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${spec.name} was not ready within ${timeoutMs} ms:\n${output()}`))
    }, timeoutMs)
    child.once('error', (err) => {
      clearTimeout(timer)
      reject(new Error(`${spec.name} could not be started (${spec.command}): ${err.message}`, { cause: err }))
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`${spec.name} exited (${signal ?? code}) before it was ready:\n${output()}`))
    })
    const { ready } = spec
    let isDone = false
    const done = (): void => {
      isDone = true
      clearTimeout(timer)
      resolve()
    }
    const onLine = (line: string): void => {
      lines.push(line)
      if (lines.length > 500) lines.splice(0, lines.length - 500)
      if (ready instanceof RegExp && ready.test(line)) done()
    }
    for (const stream of [child.stdout, child.stderr])
      if (stream) createInterface({ input: stream }).on('line', onLine)
    if (typeof ready === 'function') {
      void (async () => {
        while (!isDone && isRunning) {
          if (await ready().catch(() => false)) return done()
          await new Promise((r) => setTimeout(r, 25))
        }
      })()
    }
  })
  return engineHandle(spec.name, child, lines, exited, () => isRunning)
}

function engineHandle(
  name: string,
  child: ChildProcess,
  lines: readonly string[],
  exited: Promise<void>,
  isRunning: () => boolean,
): EngineProcess {
  const pid = child.pid
  if (pid === undefined) throw new Error(`${name} has no PID`)
  const stop = async (signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> => {
    if (!isRunning()) return
    child.kill(signal)
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    await exited
    clearTimeout(timer)
  }
  return {
    name,
    pid,
    lines,
    get isRunning() {
      return isRunning()
    },
    stop,
    kill9: () => stop('SIGKILL'),
  }
}
