import { spawn } from 'node:child_process'
import { lowerPriority } from './child-priority.js'

/** What a finished child process printed. */
export interface ProcessOutput {
  readonly stdout: Buffer
  readonly stderr: string
}

/** Options of one bounded child-process run. */
export interface RunProcessOptions {
  /** The process is killed (SIGKILL) after this long and the run fails. */
  readonly timeoutMs: number
  /** Bytes written to stdin, which is then closed. */
  readonly input?: Buffer
  /** Largest stdout kept; more fails the run (a guard against a runaway encoder). */
  readonly maxStdoutBytes?: number
  /** Nice value the process runs at (media.childNiceness); 0 or absent leaves it as the agent's. */
  readonly niceness?: number
}

const stderrTailChars = 2000

/** Leading flags of a short ffmpeg run (clip assembly, snapshot): no banner, errors only, no stdin, overwrite. */
export const ffmpegRunArgs: readonly string[] = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y']

/**
 * Runs a program to completion without a shell and resolves with its output; rejects with an Error
 * carrying the exit code and the tail of stderr. The only place media code spawns short-lived tools.
 */
export function runProcess(
  command: string,
  args: readonly string[],
  options: RunProcessOptions,
): Promise<ProcessOutput> {
  const maxStdoutBytes = options.maxStdoutBytes ?? 64 * 1024 * 1024
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    lowerPriority(child.pid, options.niceness ?? 0)
    const out: Buffer[] = []
    let outBytes = 0
    let stderr = ''
    let failure: Error | undefined
    const timer = setTimeout(() => {
      failure = new Error(`${command} timed out after ${options.timeoutMs} ms`)
      child.kill('SIGKILL')
    }, options.timeoutMs)
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length
      if (outBytes > maxStdoutBytes && !failure) {
        failure = new Error(`${command} printed more than ${maxStdoutBytes} bytes`)
        child.kill('SIGKILL')
      } else out.push(chunk)
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-stderrTailChars)
    })
    child.stdin.on('error', () => {
      // The program may exit before reading all its input; its exit status tells what happened.
    })
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (failure) return reject(failure)
      if (code !== 0) {
        return reject(
          new Error(
            `${command} exited with ${code ?? signal}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
          ),
        )
      }
      resolve({ stdout: Buffer.concat(out), stderr })
    })
    child.stdin.end(options.input)
  })
}
