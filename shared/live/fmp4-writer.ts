import { parseH264Sps } from './h264-sps.js'

/**
 * Fragmented MP4 (ISO/IEC 14496-12, AVC per 14496-15) for one H.264 track and, when the door's microphone
 * is on, one Opus track ("Encapsulation of Opus in ISO Base Media File Format": the `Opus` sample entry and
 * its `dOps` box), one frame or Opus packet per fragment: an init segment (ftyp, moov) and then a moof +
 * mdat per sample, which is what Media Source Extensions append.
 * One frame per fragment is the point: a muxer that cuts fragments only at keyframes (mediabunny does,
 * so every fragment starts decodable) holds each frame back until its whole group of pictures is written,
 * a second here, which is the latency MSE players are known for.
 */

/** Timescale of the video track: the H.264 RTP clock, so RTP timestamps are decode times as they are. */
export const fmp4VideoTimescale = 90_000
/** Timescale of the audio track: Opus's 48 kHz, its RTP clock (RFC 7587) whatever the input rate. */
export const fmp4AudioTimescale = 48_000
/** Track ids: the picture is track 1, the sound track 2. */
export const fmp4Tracks = { video: 1, audio: 2 } as const

function box(type: string, ...payload: Uint8Array[]): Buffer {
  const size = 8 + payload.reduce((n, p) => n + p.length, 0)
  const header = Buffer.alloc(8)
  header.writeUInt32BE(size, 0)
  header.write(type, 4, 'latin1')
  return Buffer.concat([header, ...payload])
}

function fullBox(type: string, version: number, flags: number, ...payload: Uint8Array[]): Buffer {
  const head = Buffer.alloc(4)
  head.writeUInt32BE(((version & 0xff) << 24) | (flags & 0xffffff), 0)
  return box(type, head, ...payload)
}

function u32(...values: number[]): Buffer {
  const out = Buffer.alloc(values.length * 4)
  values.forEach((v, i) => {
    out.writeUInt32BE(v >>> 0, i * 4)
  })
  return out
}

function u16(...values: number[]): Buffer {
  const out = Buffer.alloc(values.length * 2)
  values.forEach((v, i) => {
    out.writeUInt16BE(v & 0xffff, i * 2)
  })
  return out
}

/** The unity matrix of mvhd and tkhd. */
const unityMatrix = u32(0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)

/** What the page needs to open its SourceBuffer, and the init segment to append first. */
export interface Fmp4Init {
  /** MIME type with codecs, for MediaSource.isTypeSupported and addSourceBuffer. */
  readonly mimeType: string
  readonly widthPx: number
  readonly heightPx: number
  readonly segment: Buffer
}

/** The Opus track of an init segment: what its `dOps` box says. */
export interface Fmp4OpusTrack {
  /** Output channels, 1 or 2 (channel mapping family 0). */
  readonly channels: number
}

/**
 * The init segment of an H.264 track from its SPS and PPS NAL units (without start codes), with an Opus
 * track when `opus` is given.
 */
export function fmp4InitSegment(sps: Buffer, pps: Buffer, opus?: Fmp4OpusTrack): Fmp4Init {
  const info = parseH264Sps(sps)
  const avcC = box(
    'avcC',
    Buffer.from([1, sps[1] ?? 0, sps[2] ?? 0, sps[3] ?? 0, 0xfc | 3, 0xe0 | 1]),
    u16(sps.length),
    sps,
    Buffer.from([1]),
    u16(pps.length),
    pps,
  )
  const avc1 = box(
    'avc1',
    Buffer.alloc(6),
    u16(1), // data_reference_index
    Buffer.alloc(16),
    u16(info.widthPx, info.heightPx),
    u32(0x00480000, 0x00480000, 0), // 72 dpi both ways, reserved
    u16(1), // frame_count
    Buffer.alloc(32), // compressorname
    u16(0x0018, 0xffff), // depth, pre_defined -1
    avcC,
  )
  const video = trak({
    trackId: fmp4Tracks.video,
    timescale: fmp4VideoTimescale,
    handler: 'vide',
    mediaHeader: fullBox('vmhd', 0, 1, u16(0, 0, 0, 0)),
    sampleEntry: avc1,
    volume: 0,
    sizePx: [info.widthPx, info.heightPx],
  })
  const tracks = [video]
  if (opus) tracks.push(opusTrak(opus))
  const mvhd = fullBox(
    'mvhd',
    0,
    0,
    u32(0, 0, 1000, 0, 0x00010000),
    u16(0x0100, 0),
    u32(0, 0),
    unityMatrix,
    Buffer.alloc(24),
    u32(tracks.length + 1), // next_track_ID
  )
  const mvex = box('mvex', ...tracks.map((_, i) => fullBox('trex', 0, 0, u32(i + 1, 1, 0, 0, 0))))
  const ftyp = box(
    'ftyp',
    Buffer.from('isom', 'latin1'),
    u32(0x200),
    Buffer.from(opus ? 'isomiso6avc1mp41Opus' : 'isomiso6avc1mp41', 'latin1'),
  )
  const moov = box('moov', mvhd, ...tracks, mvex)
  return {
    mimeType: `video/mp4; codecs="${info.codec}${opus ? ', opus' : ''}"`,
    widthPx: info.widthPx,
    heightPx: info.heightPx,
    segment: Buffer.concat([ftyp, moov]),
  }
}

/** What differs between the video and the audio track of the init segment. */
interface TrackSpec {
  readonly trackId: number
  readonly timescale: number
  readonly handler: 'vide' | 'soun'
  /** vmhd or smhd. */
  readonly mediaHeader: Buffer
  readonly sampleEntry: Buffer
  /** 8.8 fixed point: 0 for video, 0x0100 (full) for audio. */
  readonly volume: number
  readonly sizePx: readonly [number, number]
}

/** One track of the moov: no samples in it, they all come in fragments. */
function trak(spec: TrackSpec): Buffer {
  const empty = (type: string) => fullBox(type, 0, 0, u32(0))
  const stbl = box(
    'stbl',
    fullBox('stsd', 0, 0, u32(1), spec.sampleEntry),
    empty('stts'),
    empty('stsc'),
    fullBox('stsz', 0, 0, u32(0, 0)),
    empty('stco'),
  )
  const minf = box(
    'minf',
    spec.mediaHeader,
    box('dinf', fullBox('dref', 0, 0, u32(1), fullBox('url ', 0, 1))),
    stbl,
  )
  const name = spec.handler === 'vide' ? 'video\0' : 'sound\0'
  const mdia = box(
    'mdia',
    fullBox('mdhd', 0, 0, u32(0, 0, spec.timescale, 0), u16(0x55c4, 0)), // language "und"
    fullBox('hdlr', 0, 0, u32(0), Buffer.from(spec.handler, 'latin1'), u32(0, 0, 0), Buffer.from(name)),
    minf,
  )
  const tkhd = fullBox(
    'tkhd',
    0,
    3, // enabled, in movie
    u32(0, 0, spec.trackId, 0, 0, 0, 0),
    u16(0, 0, spec.volume, 0), // layer, alternate group, volume, reserved
    unityMatrix,
    u32(spec.sizePx[0] * 0x10000, spec.sizePx[1] * 0x10000),
  )
  return box('trak', tkhd, mdia)
}

/**
 * The Opus track: an AudioSampleEntry `Opus` whose channel count is the output's and whose sample rate is
 * 48 kHz, with a `dOps` box (version 0, pre-skip 0: a live stream joined mid-way has no encoder delay to
 * skip, input rate 48 kHz, gain 0, mapping family 0 for mono or stereo).
 */
function opusTrak(opus: Fmp4OpusTrack): Buffer {
  const channels = opus.channels === 1 ? 1 : 2
  const dOps = box(
    'dOps',
    Buffer.from([0, channels]),
    u16(0),
    u32(fmp4AudioTimescale),
    u16(0),
    Buffer.from([0]),
  )
  const entry = box(
    'Opus',
    Buffer.alloc(6),
    u16(1), // data_reference_index
    u32(0, 0),
    u16(channels, 16, 0, 0), // channelcount, samplesize, pre_defined, reserved
    u32(fmp4AudioTimescale * 0x10000),
    dOps,
  )
  return trak({
    trackId: fmp4Tracks.audio,
    timescale: fmp4AudioTimescale,
    handler: 'soun',
    mediaHeader: fullBox('smhd', 0, 0, u16(0, 0)),
    sampleEntry: entry,
    volume: 0x0100,
    sizePx: [0, 0],
  })
}

/** One frame to write: its NAL units (no start codes), decode time and duration in 90 kHz ticks. */
export interface Fmp4Frame {
  readonly nalUnits: readonly Buffer[]
  readonly isKeyframe: boolean
  readonly decodeTime: number
  readonly duration: number
}

/** Sample flags (14496-12 section 8.8.3.1): a sync sample depends on nothing; others are non-sync. */
const keyframeFlags = 0x02000000
const deltaFrameFlags = 0x01010000

/** One media segment (moof + mdat) holding one frame; `sequence` counts fragments from 1. */
export function fmp4MediaSegment(sequence: number, frame: Fmp4Frame): Buffer {
  const sample = Buffer.concat(frame.nalUnits.flatMap((nal) => [u32(nal.length), nal]))
  return fragment(sequence, fmp4Tracks.video, {
    sample,
    decodeTime: frame.decodeTime,
    duration: frame.duration,
    flags: frame.isKeyframe ? keyframeFlags : deltaFrameFlags,
  })
}

/** One Opus packet to write: its payload, decode time and duration in 48 kHz samples. */
export interface Fmp4AudioSample {
  readonly payload: Buffer
  readonly decodeTime: number
  readonly duration: number
}

/** One media segment holding one Opus packet of the audio track; every Opus packet is a sync sample. */
export function fmp4AudioSegment(sequence: number, audio: Fmp4AudioSample): Buffer {
  return fragment(sequence, fmp4Tracks.audio, {
    sample: audio.payload,
    decodeTime: audio.decodeTime,
    duration: audio.duration,
    flags: keyframeFlags,
  })
}

/** A moof with one traf of one sample, and its mdat. */
function fragment(
  sequence: number,
  trackId: number,
  one: { sample: Buffer; decodeTime: number; duration: number; flags: number },
): Buffer {
  const { sample } = one
  const decodeTime = Buffer.alloc(8)
  decodeTime.writeBigUInt64BE(BigInt(Math.max(0, Math.round(one.decodeTime))))
  const trun = (dataOffset: number) =>
    fullBox(
      'trun',
      0,
      0x000001 | 0x000100 | 0x000200 | 0x000400, // data offset; per-sample duration, size, flags
      u32(1, dataOffset, one.duration, sample.length, one.flags),
    )
  const moof = (dataOffset: number) =>
    box(
      'moof',
      fullBox('mfhd', 0, 0, u32(sequence)),
      box(
        'traf',
        fullBox('tfhd', 0, 0x020000, u32(trackId)), // default-base-is-moof
        fullBox('tfdt', 1, 0, decodeTime),
        trun(dataOffset),
      ),
    )
  // The data offset counts from the moof's first byte to the sample, past the mdat header.
  const size = moof(0).length
  return Buffer.concat([moof(size + 8), box('mdat', sample)])
}
