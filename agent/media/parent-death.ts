import { spawnSync } from 'node:child_process'
import type { CommandLine } from './capture-command.js'

let setprivSupport: boolean | undefined

/** True when util-linux's setpriv (essential on Debian and Raspberry Pi OS) offers --pdeathsig. */
export function hasPdeathsig(): boolean {
  setprivSupport ??= /--pdeathsig/.test(spawnSync('setpriv', ['--help'], { encoding: 'utf8' }).stdout ?? '')
  return setprivSupport
}

/**
 * Wraps a long-lived child so the kernel sends it SIGTERM when the agent dies, even by SIGKILL
 * (PR_SET_PDEATHSIG through `setpriv --pdeathsig`, which then execs the command: same PID, same signals).
 * Without it a killed agent leaves its camera running, and the restarted agent starts a second one on the
 * same ring. systemd's cgroup kill covers a Pi; this covers everything else. Unchanged where setpriv is absent.
 */
export function boundToParent(line: CommandLine, isSupported: boolean = hasPdeathsig()): CommandLine {
  if (!isSupported) return line
  return { command: 'setpriv', args: ['--pdeathsig', 'TERM', '--', line.command, ...line.args] }
}
