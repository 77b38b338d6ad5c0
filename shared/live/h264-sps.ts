/**
 * What a fragmented MP4's init segment needs from an H.264 sequence parameter set (ITU-T H.264 section
 * 7.3.2.1.1): the picture size after cropping, and the profile and level for the codec string.
 */
export interface H264StreamInfo {
  readonly widthPx: number
  readonly heightPx: number
  /** RFC 6381 codec string, e.g. `avc1.42c01f`. */
  readonly codec: string
}

/** Profiles whose SPS carries chroma format and bit depth fields. */
const highProfiles = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135])

/** Reads Exp-Golomb coded fields (section 9.1) from an RBSP. */
class BitReader {
  #at = 0
  constructor(readonly bytes: Uint8Array) {}

  bit(): number {
    const byte = this.bytes[this.#at >> 3]
    if (byte === undefined) throw new RangeError('the SPS ended early')
    const bit = (byte >> (7 - (this.#at & 7))) & 1
    this.#at += 1
    return bit
  }

  bits(count: number): number {
    let value = 0
    for (let i = 0; i < count; i++) value = value * 2 + this.bit()
    return value
  }

  ue(): number {
    let zeros = 0
    while (this.bit() === 0) {
      zeros += 1
      if (zeros > 31) throw new RangeError('an Exp-Golomb code is too long')
    }
    return 2 ** zeros - 1 + this.bits(zeros)
  }

  se(): number {
    const k = this.ue()
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2)
  }
}

/** The RBSP of a NAL unit: emulation prevention bytes (00 00 03) removed, header byte skipped. */
function rbsp(nal: Uint8Array): Uint8Array {
  const out: number[] = []
  for (let i = 1; i < nal.length; i++) {
    const byte = nal[i] ?? 0
    if (byte === 3 && out.length >= 2 && out.at(-1) === 0 && out.at(-2) === 0) continue
    out.push(byte)
  }
  return Uint8Array.from(out)
}

function skipScalingList(r: BitReader, size: number): void {
  let last = 8
  let next = 8
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256
    last = next === 0 ? last : next
  }
}

/** Parses an SPS NAL unit (with its header byte); throws RangeError on one that is cut short. */
export function parseH264Sps(sps: Uint8Array): H264StreamInfo {
  const r = new BitReader(rbsp(sps))
  const profile = r.bits(8)
  const constraints = r.bits(8)
  const level = r.bits(8)
  r.ue() // seq_parameter_set_id
  let chromaFormat = 1
  if (highProfiles.has(profile)) {
    chromaFormat = r.ue()
    if (chromaFormat === 3) r.bit() // separate_colour_plane_flag
    r.ue() // bit_depth_luma_minus8
    r.ue() // bit_depth_chroma_minus8
    r.bit() // qpprime_y_zero_transform_bypass_flag
    if (r.bit() === 1) {
      for (let i = 0; i < (chromaFormat === 3 ? 12 : 8); i++)
        if (r.bit() === 1) skipScalingList(r, i < 6 ? 16 : 64)
    }
  }
  r.ue() // log2_max_frame_num_minus4
  const pocType = r.ue()
  if (pocType === 0) r.ue()
  else if (pocType === 1) {
    r.bit()
    r.se()
    r.se()
    const cycle = r.ue()
    for (let i = 0; i < cycle; i++) r.se()
  }
  r.ue() // max_num_ref_frames
  r.bit() // gaps_in_frame_num_value_allowed_flag
  const widthMbs = r.ue() + 1
  const heightMapUnits = r.ue() + 1
  const isFrameMbsOnly = r.bit() === 1
  if (!isFrameMbsOnly) r.bit() // mb_adaptive_frame_field_flag
  r.bit() // direct_8x8_inference_flag
  let crop = { left: 0, right: 0, top: 0, bottom: 0 }
  if (r.bit() === 1) crop = { left: r.ue(), right: r.ue(), top: r.ue(), bottom: r.ue() }
  // Crop units (table 6-1): 2 by 2 luma samples for 4:2:0, doubled vertically for field coding.
  const cropX = chromaFormat === 1 || chromaFormat === 2 ? 2 : 1
  const cropY = (chromaFormat === 1 ? 2 : 1) * (isFrameMbsOnly ? 1 : 2)
  const hex = (n: number) => n.toString(16).padStart(2, '0')
  return {
    widthPx: widthMbs * 16 - (crop.left + crop.right) * cropX,
    heightPx: (isFrameMbsOnly ? 1 : 2) * heightMapUnits * 16 - (crop.top + crop.bottom) * cropY,
    codec: `avc1.${hex(profile)}${hex(constraints)}${hex(level)}`,
  }
}
