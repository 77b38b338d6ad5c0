import { type ChildProcess, spawn } from 'node:child_process'
import type { CommandLine } from './capture-command.js'
import { boundToParent } from './parent-death.js'

const stderrTailChars = 1000

/** Streams of a long-running child: what its stdin and stdout are. */
export interface LongRunningChildOptions {
  readonly hasStdin?: boolean
  readonly hasStdout?: boolean
  /** How long stop() waits after SIGTERM before SIGKILL. */
  readonly stopTimeoutMs?: number
  /** The child exited without being asked to; `detail` carries the exit code and the tail of stderr. */
  readonly onExit?: (detail: string) => void
}

/**
 * A helper process that runs for a while (an encoder, a decoder, aplay), bound to the agent's life
 * (boundToParent), spawned without a shell. It keeps the tail of stderr for the error report and is
 * stopped with SIGTERM, then SIGKILL.
 */
export class LongRunningChild {
  readonly child: ChildProcess
  readonly #options: LongRunningChildOptions
  #stderrTail = ''
  #isStopping = false

  constructor(line: CommandLine, options: LongRunningChildOptions = {}) {
    this.#options = options
    const bound = boundToParent(line)
    this.child = spawn(bound.command, [...bound.args], {
      stdio: [options.hasStdin ? 'pipe' : 'ignore', options.hasStdout ? 'pipe' : 'ignore', 'pipe'],
    })
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderrTail = (this.#stderrTail + chunk.toString('utf8')).slice(-stderrTailChars)
    })
    // A write into a child that died is reported by its exit, not as an unhandled stream error.
    this.child.stdin?.on('error', () => undefined)
    this.child.on('error', (err) => this.#exited(`${line.command}: ${err.message}`))
    this.child.on('close', (code, signal) =>
      this.#exited(`${line.command} exited with ${code ?? signal}: ${this.#stderrTail.trim()}`),
    )
  }

  /** True until the child has exited. */
  get isRunning(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  /** Writes to the child's stdin unless it is stopping or gone; false when the data was dropped. */
  write(data: Buffer): boolean {
    if (this.#isStopping || !this.isRunning || !this.child.stdin?.writable) return false
    this.child.stdin.write(data)
    return true
  }

  /** SIGTERM, then SIGKILL after stopTimeoutMs; resolves once the child has exited. */
  stop(): Promise<void> {
    this.#isStopping = true
    if (!this.isRunning) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), this.#options.stopTimeoutMs ?? 2000)
      this.child.once('close', () => {
        clearTimeout(timer)
        resolve()
      })
      this.child.stdin?.end()
      this.child.kill('SIGTERM')
    })
  }

  #exited(detail: string): void {
    if (this.#isStopping) return
    this.#isStopping = true
    this.#options.onExit?.(detail)
  }
}
