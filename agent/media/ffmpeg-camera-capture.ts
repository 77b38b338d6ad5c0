import { type ChildProcess, spawn } from 'node:child_process'
import { DoorbellError } from '../../shared/errors.js'
import type { CapturePipeline } from './capture-command.js'
import { lowerPriority } from './child-priority.js'
import { boundToParent } from './parent-death.js'

/** The camera port: a running capture that keeps the ring filled until stopped. */
export interface CameraCapture {
  start(): void
  stop(): Promise<void>
  readonly isRunning: boolean
}

/** Events of the capture, for main.ts to log and count. */
export interface CameraCaptureEvents {
  /** The pipeline died; it is restarted after restartDelayMs. */
  onFailure?(err: DoorbellError): void
  onStarted?(): void
}

/** Collaborators of the capture. */
export interface FfmpegCameraCaptureDeps {
  /** The pipeline, or a function building it afresh for each (re)start. */
  readonly pipeline: CapturePipeline | (() => CapturePipeline)
  readonly events?: CameraCaptureEvents
  /** Delay before restarting a pipeline that exited; doubles per failure up to maxRestartDelayMs. */
  readonly restartDelayMs?: number
  readonly maxRestartDelayMs?: number
  /** How long stop() waits for ffmpeg to close its last segment before SIGKILL. */
  readonly stopTimeoutMs?: number
  /** Nice value of the pipeline's processes (media.childNiceness); 0 or absent leaves them as the agent's. */
  readonly niceness?: number
}

const stderrTailChars = 1000
const healthyRunMs = 30_000

/**
 * Runs the capture pipeline (optionally `rpicam-vid ... -o -` piped into ffmpeg) as child processes,
 * spawned directly (no fluent-ffmpeg: deprecated, archived, broken with recent ffmpeg; docs/media.md).
 * A pipeline that exits is restarted with backoff; each failure is reported once.
 */
export class FfmpegCameraCapture implements CameraCapture {
  readonly #deps: FfmpegCameraCaptureDeps
  #producer: ChildProcess | undefined
  #ffmpeg: ChildProcess | undefined
  #isStopping = false
  #restartTimer: NodeJS.Timeout | undefined
  #failures = 0
  #stderrTail = ''
  #spawnedAtMs = 0

  constructor(deps: FfmpegCameraCaptureDeps) {
    this.#deps = deps
  }

  get isRunning(): boolean {
    return this.#ffmpeg !== undefined
  }

  /** Spawns the pipeline. */
  start(): void {
    this.#isStopping = false
    this.#spawnPipeline()
  }

  /** Asks ffmpeg to finish (SIGTERM closes the current segment), then kills what is left. */
  async stop(): Promise<void> {
    this.#isStopping = true
    if (this.#restartTimer) clearTimeout(this.#restartTimer)
    const children = [this.#producer, this.#ffmpeg].filter((c): c is ChildProcess => c !== undefined)
    await Promise.all(children.map((child) => this.#terminate(child)))
    this.#producer = undefined
    this.#ffmpeg = undefined
  }

  #terminate(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), this.#deps.stopTimeoutMs ?? 3000)
      child.once('close', () => {
        clearTimeout(timer)
        resolve()
      })
      child.kill('SIGTERM')
    })
  }

  #spawnPipeline(): void {
    const pipeline = typeof this.#deps.pipeline === 'function' ? this.#deps.pipeline() : this.#deps.pipeline
    this.#stderrTail = ''
    this.#spawnedAtMs = Date.now()
    const ffmpegLine = boundToParent(pipeline.ffmpeg)
    const ffmpeg = spawn(ffmpegLine.command, [...ffmpegLine.args], {
      stdio: [pipeline.producer ? 'pipe' : 'ignore', 'ignore', 'pipe'],
    })
    this.#ffmpeg = ffmpeg
    lowerPriority(ffmpeg.pid, this.#deps.niceness ?? 0)
    ffmpeg.stderr?.on('data', (chunk: Buffer) => this.#keepStderr(chunk))
    ffmpeg.on('error', (err) => this.#fail(`${pipeline.ffmpeg.command}: ${err.message}`, err))
    ffmpeg.on('close', (code, signal) => {
      if (this.#ffmpeg === ffmpeg)
        this.#fail(`ffmpeg exited with ${code ?? signal}: ${this.#stderrTail.trim()}`)
    })
    if (pipeline.producer) {
      const producerLine = boundToParent(pipeline.producer)
      const producer = spawn(producerLine.command, [...producerLine.args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      this.#producer = producer
      lowerPriority(producer.pid, this.#deps.niceness ?? 0)
      producer.stderr?.on('data', (chunk: Buffer) => this.#keepStderr(chunk))
      producer.on('error', (err) => this.#fail(`${pipeline.producer?.command}: ${err.message}`, err))
      producer.on('close', (code, signal) => {
        if (this.#producer === producer)
          this.#fail(`${pipeline.producer?.command} exited with ${code ?? signal}`)
      })
      ffmpeg.stdin?.on('error', () => {
        // ffmpeg went away; its close handler reports it.
      })
      producer.stdout?.pipe(ffmpeg.stdin as NodeJS.WritableStream)
    }
    this.#deps.events?.onStarted?.()
  }

  #keepStderr(chunk: Buffer): void {
    this.#stderrTail = (this.#stderrTail + chunk.toString('utf8')).slice(-stderrTailChars)
  }

  /** One failure of the pipeline: tear down both processes, report once, schedule a restart. */
  #fail(detail: string, cause?: unknown): void {
    if (this.#isStopping || (this.#ffmpeg === undefined && this.#producer === undefined)) return
    const children = [this.#producer, this.#ffmpeg]
    this.#producer = undefined
    this.#ffmpeg = undefined
    for (const child of children) child?.kill('SIGKILL')
    // A pipeline that ran for a while was healthy: start the backoff over.
    if (Date.now() - this.#spawnedAtMs > healthyRunMs) this.#failures = 0
    this.#failures += 1
    this.#deps.events?.onFailure?.(new DoorbellError('CAMERA_FAILED', detail, { cause }))
    const base = this.#deps.restartDelayMs ?? 1000
    const delayMs = Math.min(base * 2 ** (this.#failures - 1), this.#deps.maxRestartDelayMs ?? 60_000)
    this.#restartTimer = setTimeout(() => {
      if (!this.#isStopping) this.#spawnPipeline()
    }, delayMs)
    this.#restartTimer.unref()
  }
}
