import { setPriority } from 'node:os'

/**
 * Lowers a media child's CPU priority to `niceness` (0 leaves it as it is). Video work (camera encoding,
 * clip assembly, snapshot decoding) then yields the CPU to the agent's own process, whose event loop
 * carries the presses: a press never waits behind video, on the CPU either. A child that has already
 * exited (ESRCH) or a system that refuses (a seccomp filter) keeps its priority: that costs latency
 * under load, never a recording, so it is not an error.
 */
export function lowerPriority(pid: number | undefined, niceness: number): void {
  if (pid === undefined || niceness <= 0) return
  try {
    setPriority(pid, niceness)
  } catch {
    // See above: the child runs at the normal priority.
  }
}
