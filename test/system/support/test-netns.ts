import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'

/**
 * Network namespaces for the live-view tests: each a "host" joined to this one by a veth pair
 * (../shared/tools/netns-link.sh, addresses 198.18.N.1 here and 198.18.N.2 there), with a default route
 * back, so a namespace reaches every address of this host (the collector binds one of them for WebRTC).
 * Names carry this process's PID, so a later run removes what a killed run left behind.
 */
export const netnsLinkScript = new URL('../../../../shared/tools/netns-link.sh', import.meta.url).pathname

/** Why namespaces cannot be made here, or undefined when they can. */
export function netnsUnavailableReason(): string | undefined {
  if (!existsSync(netnsLinkScript))
    return `${netnsLinkScript} is missing (the machine recipes beside the checkout)`
  if (process.getuid?.() !== 0) return 'needs root'
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'pipe' })
    return undefined
  } catch (err) {
    return String(err)
  }
}

/** One namespace and its veth link. */
export class TestNetns {
  readonly name: string
  readonly index: number
  readonly hostIp: string
  readonly nsIp: string
  readonly nsInterface: string
  #isUp = false

  constructor(name: string, index: number) {
    this.name = name
    this.index = index
    this.hostIp = `198.18.${index}.1`
    this.nsIp = `198.18.${index}.2`
    this.nsInterface = `vn-${name.slice(0, 10)}`
  }

  up(rate?: string): void {
    this.#link('down')
    this.#link('up', ...(rate ? [rate] : []))
    this.#isUp = true
    this.exec('ip', 'route', 'add', 'default', 'via', this.hostIp)
  }

  /** Shapes the namespace's outgoing traffic with tbf (e.g. 2mbit). */
  rate(rate: string): void {
    this.#link('rate', rate)
  }

  /** Runs a command inside the namespace; returns its stdout. */
  exec(...command: string[]): string {
    return execFileSync('ip', ['netns', 'exec', this.name, ...command], { stdio: 'pipe' }).toString()
  }

  /** The prefix that runs a program inside the namespace. */
  get prefix(): string[] {
    return ['ip', 'netns', 'exec', this.name]
  }

  /** Bytes that left the namespace on its veth (what "the Pi uploaded"). */
  txBytes(): number {
    return Number(this.exec('cat', `/sys/class/net/${this.nsInterface}/statistics/tx_bytes`).trim())
  }

  /** Counts UDP leaving the namespace on its veth (an iptables rule whose counter udpTxBytes reads). */
  countUdp(): void {
    this.exec('iptables', '-A', 'OUTPUT', '-o', this.nsInterface, '-p', 'udp')
  }

  /** UDP bytes (IP packets) that left the namespace since countUdp(). */
  udpTxBytes(): number {
    const out = this.exec('iptables', '-L', 'OUTPUT', '-v', '-x', '-n')
    // The protocol column shows 17 (UDP) with -n; this is the only rule on the veth.
    const line = out.split('\n').find((l) => l.includes(this.nsInterface))
    return Number(line?.trim().split(/\s+/)[1] ?? Number.NaN)
  }

  down(): void {
    if (!this.#isUp) return
    this.#link('down')
    this.#isUp = false
  }

  #link(...args: string[]): void {
    execFileSync(netnsLinkScript, [args[0] as string, this.name, ...args.slice(1)], {
      env: { ...process.env, NETNS_INDEX: String(this.index) },
      stdio: 'pipe',
    })
  }
}

/** Removes namespaces named `<prefix><pid>...` whose process is gone (a killed earlier run). */
export function removeStaleNetns(prefix: string, indexOf: (name: string) => number): void {
  const names = execFileSync('ip', ['netns', 'list'], { stdio: 'pipe' })
    .toString()
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
  for (const name of names) {
    const pid = Number(new RegExp(`^${prefix}(\\d+)[a-z]$`).exec(name)?.[1])
    if (!pid || pid === process.pid || isAlive(pid)) continue
    execFileSync(netnsLinkScript, ['down', name], {
      env: { ...process.env, NETNS_INDEX: String(indexOf(name)) },
      stdio: 'pipe',
    })
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
