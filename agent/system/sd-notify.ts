import { execFile } from 'node:child_process'
import type { Clock, TimerHandle } from '../clock/clock.js'

/** Runs `systemd-notify` with arguments; resolves when it exits. Replaceable in tests. */
export type NotifyRunner = (args: readonly string[]) => Promise<void>

/** Runs the real systemd-notify CLI with the socket from the environment. */
export const runSystemdNotify: NotifyRunner = (args) =>
  new Promise((resolve, reject) => {
    execFile('systemd-notify', [...args], { timeout: 5_000 }, (err) => (err ? reject(err) : resolve()))
  })

/** What the notifier needs from the environment and the host. */
export interface SystemdNotifierDeps {
  /** NOTIFY_SOCKET and WATCHDOG_USEC as systemd set them; absent outside systemd. */
  readonly env: Readonly<Record<string, string | undefined>>
  readonly pid: number
  readonly clock: Clock
  readonly run?: NotifyRunner
  /** Called when a notification fails (logged by main.ts); the agent keeps running. */
  readonly onError?: (err: unknown) => void
}

/**
 * sd_notify without a native dependency: Node has no unix datagram sockets, so it spawns systemd-notify.
 * The message comes from a child process, so the unit needs NotifyAccess=all (deploy/raspberry-pi);
 * --pid names the agent as MAINPID. systemd-notify (252, Bookworm) then waits on BARRIER=1, so systemd
 * has read the message before the child exits (verified against a datagram socket: READY=1, MAINPID=).
 * Without NOTIFY_SOCKET (not under systemd, or Type=simple) every call is a no-op.
 */
export class SystemdNotifier {
  readonly #deps: SystemdNotifierDeps
  readonly #run: NotifyRunner
  #watchdog: TimerHandle | undefined
  #isStopped = false

  constructor(deps: SystemdNotifierDeps) {
    this.#deps = deps
    this.#run = deps.run ?? runSystemdNotify
  }

  /** True when running under systemd with a notify socket. */
  get isEnabled(): boolean {
    return Boolean(this.#deps.env.NOTIFY_SOCKET)
  }

  /** The watchdog period systemd asked for, in ms (WATCHDOG_USEC), or undefined. */
  get watchdogMs(): number | undefined {
    const usec = Number(this.#deps.env.WATCHDOG_USEC)
    return Number.isFinite(usec) && usec > 0 ? Math.floor(usec / 1000) : undefined
  }

  /** READY=1 with the main pid, then WATCHDOG=1 every half watchdog period while `isHealthy` says so. */
  async ready(isHealthy: () => boolean = () => true): Promise<void> {
    if (!this.isEnabled) return
    await this.#send([`--pid=${this.#deps.pid}`, '--ready'])
    const periodMs = this.watchdogMs
    if (periodMs === undefined) return
    const tick = () => {
      if (this.#isStopped) return
      if (isHealthy()) void this.#send([`--pid=${this.#deps.pid}`, 'WATCHDOG=1'])
      this.#watchdog = this.#deps.clock.setTimeout(tick, Math.max(500, periodMs / 2))
    }
    tick()
  }

  /** STOPPING=1 and no more watchdog pings. */
  async stopping(): Promise<void> {
    this.#isStopped = true
    this.#deps.clock.clearTimeout(this.#watchdog)
    if (this.isEnabled) await this.#send([`--pid=${this.#deps.pid}`, 'STOPPING=1'])
  }

  async #send(args: readonly string[]): Promise<void> {
    try {
      await this.#run(args)
    } catch (err) {
      this.#deps.onError?.(err)
    }
  }
}
