/** The part of a node-datachannel PeerConnection that gathering needs. */
export interface GatheringPeer {
  onGatheringStateChange(cb: (state: string) => void): void
  gatheringState(): string
}

/**
 * Resolves once the peer's own candidates are in its description, or after timeoutMs. The state is read
 * as well as listened to: with the ICE UDP mux, libdatachannel completes host-only gathering within a
 * millisecond of setLocalDescription, and the state-change callback then often never comes (measured:
 * about half of the offers in a row waited out the whole timeout, 3 s, before a live view could start).
 */
export function gatheringComplete(pc: GatheringPeer, timeoutMs: number, pollMs = 5): Promise<void> {
  return new Promise((resolve) => {
    const startedAtMs = Date.now()
    let poll: NodeJS.Timeout | undefined
    const done = () => {
      clearTimeout(poll)
      resolve()
    }
    pc.onGatheringStateChange((state) => {
      if (state === 'complete') done()
    })
    const check = () => {
      if (pc.gatheringState() === 'complete' || Date.now() - startedAtMs >= timeoutMs) done()
      else poll = setTimeout(check, pollMs)
    }
    poll = setTimeout(check, 0)
  })
}
