/**
 * How long an Opus packet plays, from its TOC byte (RFC 6716 section 3.1), in 48 kHz samples: the fMP4
 * writer needs each sample's duration when it writes it, before the next packet has come.
 */

/** Frame sizes in 48 kHz samples by configuration: SILK 10/20/40/60 ms, hybrid 10/20 ms, CELT 2.5-20 ms. */
function frameSamples(config: number): number {
  if (config < 12) return [480, 960, 1920, 2880][config % 4] as number
  if (config < 16) return [480, 960][config % 2] as number
  return [120, 240, 480, 960][config % 4] as number
}

/** Samples at 48 kHz in one Opus packet; 0 for an empty or malformed one. */
export function opusPacketSamples(payload: Uint8Array): number {
  const toc = payload[0]
  if (toc === undefined) return 0
  const code = toc & 0x03
  const frames = code === 0 ? 1 : code === 3 ? (payload[1] ?? 0) & 0x3f : 2
  const samples = frames * frameSamples(toc >> 3)
  // A packet longer than 120 ms is invalid (RFC 6716 section 3.2.5).
  return samples > 5760 ? 0 : samples
}
