/**
 * The few SDP facts (RFC 8866) the live view checks: which media sections an offer has, with their mid,
 * direction and the payload type of each codec. Both peers are node-datachannel (libdatachannel) or a
 * browser; this reads what they write, it is not a general SDP parser.
 */

/** One m= section. */
export interface SdpMediaSection {
  readonly kind: string
  readonly mid: string | undefined
  readonly direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive'
  /** Codec name in upper case (H264, OPUS) to its first payload type. */
  readonly payloadTypes: ReadonlyMap<string, number>
}

/** The media sections of an SDP, in order. */
export function mediaSections(sdp: string): SdpMediaSection[] {
  const sections: SdpMediaSection[] = []
  for (const block of sdp.split(/\r?\nm=/).slice(1)) {
    const lines = block.split(/\r?\n/)
    const kind = (lines[0] ?? '').split(' ')[0] ?? ''
    let mid: string | undefined
    let direction: SdpMediaSection['direction'] = 'sendrecv'
    const payloadTypes = new Map<string, number>()
    for (const line of lines) {
      if (line.startsWith('a=mid:')) mid = line.slice(6).trim()
      else if (/^a=(sendrecv|sendonly|recvonly|inactive)$/.test(line.trim()))
        direction = line.trim().slice(2) as SdpMediaSection['direction']
      else {
        const rtpmap = /^a=rtpmap:(\d+) ([A-Za-z0-9-]+)\//.exec(line)
        const codec = rtpmap?.[2]?.toUpperCase()
        if (rtpmap && codec && !payloadTypes.has(codec)) payloadTypes.set(codec, Number(rtpmap[1]))
      }
    }
    sections.push({ kind, mid, direction, payloadTypes })
  }
  return sections
}

/** The section with the given mid. */
export function sectionByMid(sdp: string, mid: string): SdpMediaSection | undefined {
  return mediaSections(sdp).find((s) => s.mid === mid)
}
