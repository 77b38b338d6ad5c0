import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'

/** The built collector (npm test builds before vitest runs). */
export const builtCollectorMain = new URL('../../../dist/collector/main.js', import.meta.url).pathname

/** A `doorbell-collector --config X` child process. */
export interface CollectorProcess {
  readonly child: ChildProcess
  readonly mqttPort: number
  readonly httpPort: number | undefined
  readonly lines: string[]
  /** SIGKILL, as a power cut would; resolves once the process is gone. */
  kill9(): Promise<void>
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | null>
}

/** Starts the built collector; resolves on 'collector ready'. */
export async function startCollectorProcess(
  configFile: string,
  deadlineMs = 15_000,
  /** A command to run it under, e.g. ['ip', 'netns', 'exec', 'ns1'] (it must exec, not fork). */
  wrapper: readonly string[] = [],
): Promise<CollectorProcess> {
  if (!existsSync(builtCollectorMain)) throw new Error(`${builtCollectorMain} is missing: run npm run build`)
  const argv = [...wrapper, process.execPath, builtCollectorMain, '--config', configFile]
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  let stderr = ''
  child.stderr?.on('data', (d) => {
    stderr += String(d)
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const ready = await new Promise<{ mqttPort: number; httpPort?: number }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`collector not ready in ${deadlineMs} ms: ${stderr}`)),
      deadlineMs,
    )
    child.once('exit', (code) =>
      reject(new Error(`collector exited with ${code}: ${stderr}\n${lines.join('\n')}`)),
    )
    if (!child.stdout) throw new Error('no stdout')
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line)
      try {
        const entry = JSON.parse(line) as { msg?: string; mqttPort?: number; httpPort?: number }
        if (entry.msg === 'collector ready' && entry.mqttPort) {
          clearTimeout(timer)
          resolve({ mqttPort: entry.mqttPort, ...(entry.httpPort ? { httpPort: entry.httpPort } : {}) })
        }
      } catch {
        // not a log line
      }
    })
  })
  return {
    child,
    mqttPort: ready.mqttPort,
    httpPort: ready.httpPort,
    lines,
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      return exited
    },
  }
}
