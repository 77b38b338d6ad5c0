import { join } from 'node:path'
import { timeMarkSource } from '../../shared/live/time-mark.js'
import type { MediaConfig } from './media-config.js'

/** One program and its arguments, spawned without a shell. */
export interface CommandLine {
  readonly command: string
  readonly args: readonly string[]
}

/** The capture pipeline: an optional producer whose stdout feeds ffmpeg's stdin, then ffmpeg. */
export interface CapturePipeline {
  readonly producer?: CommandLine
  readonly ffmpeg: CommandLine
}

/** The subset of the media config the capture pipeline depends on. */
export type CaptureSettings = Pick<
  MediaConfig,
  | 'source'
  | 'widthPx'
  | 'heightPx'
  | 'frameRate'
  | 'videoBitrateKbps'
  | 'rpicamCodec'
  | 'v4l2Device'
  | 'v4l2InputFormat'
  | 'hasAudio'
  | 'audioDevice'
  | 'audioSampleRateHz'
  | 'ffmpegPath'
  | 'rpicamVidPath'
> & { readonly ring: Pick<MediaConfig['ring'], 'dir' | 'segmentMs'> }

/** Name of the segment list ffmpeg appends one CSV line to as each segment is closed. */
export const segmentListName = 'segments.csv'
/** Pattern of the segment files inside the ring folder. */
export const segmentPattern = 'seg-%06d.ts'
/** Entries kept in the segment list; the ring must poll at least once per this many segments. */
export const segmentListEntries = 20
/** Tone of the simulated source's audio track. */
export const simulatedToneHz = 440

/** Frames per segment: each segment starts on a keyframe, so this is also the GOP length. */
export function framesPerSegment(settings: Pick<CaptureSettings, 'frameRate' | 'ring'>): number {
  return Math.max(1, Math.round((settings.frameRate * settings.ring.segmentMs) / 1000))
}

function x264Args(s: CaptureSettings): string[] {
  const gop = String(framesPerSegment(s))
  return [
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-tune',
    'zerolatency',
    '-pix_fmt',
    'yuv420p',
    '-b:v',
    `${s.videoBitrateKbps}k`,
    '-g',
    gop,
    '-keyint_min',
    gop,
    '-sc_threshold',
    '0',
  ]
}

function audioEncodeArgs(): string[] {
  return ['-c:a', 'aac', '-b:a', '32k', '-ac', '1']
}

function alsaInputArgs(s: CaptureSettings): string[] {
  return ['-f', 'alsa', '-ac', '1', '-ar', String(s.audioSampleRateHz), '-i', s.audioDevice]
}

/** Per-run options: a restarted pipeline continues the numbering so it never overwrites a held segment. */
export interface PipelineRunOptions {
  readonly segmentStartNumber?: number
  /**
   * Loopback UDP port of the live view's tap (agent/live/): the same encoded video also goes there as
   * RTP, so a live view costs no second encoder and the camera is opened once.
   */
  readonly liveRtpPort?: number
}

/** RTP payload type of H.264 on the tap; the live peer rewrites it to what the collector offered. */
export const tapPayloadType = 96
/** RTP packets on the tap fit a WebRTC path (SRTP, TURN and IPv6 headers below a 1280-byte MTU). */
export const tapPacketBytes = 1200

/** The segment muxer's options: copies the encoded stream into the ring without re-encoding. */
function segmentOptions(s: CaptureSettings, run: PipelineRunOptions): [string, string][] {
  return [
    ['segment_time', (s.ring.segmentMs / 1000).toFixed(3)],
    ['segment_format', 'mpegts'],
    ['segment_list', join(s.ring.dir, segmentListName)],
    ['segment_list_type', 'csv'],
    // ffmpeg rewrites the list (temp file + rename) keeping the newest entries, so it stays small.
    ['segment_list_size', String(segmentListEntries)],
    ['reset_timestamps', '0'],
    ['segment_start_number', String(run.segmentStartNumber ?? 0)],
  ]
}

/** Escapes a value for ffmpeg's tee muxer, whose slave list uses these characters as separators. */
export function escapeTee(value: string): string {
  return value.replace(/[\\:|[\]']/g, '\\$&')
}

/**
 * The outputs: the segment muxer alone, or, with a live tap, the tee muxer writing the one encoded stream
 * both into the ring and as RTP to the tap (onfail=ignore: a tap that is gone never stops the ring).
 */
function outputArgs(s: CaptureSettings, run: PipelineRunOptions): string[] {
  const segments = segmentOptions(s, run)
  const ringOutput = join(s.ring.dir, segmentPattern)
  if (run.liveRtpPort === undefined) {
    return ['-f', 'segment', ...segments.flatMap(([key, value]) => [`-${key}`, value]), ringOutput]
  }
  const ring = `[f=segment:${segments.map(([key, value]) => `${key}=${escapeTee(value)}`).join(':')}]${escapeTee(ringOutput)}`
  const tap = `[f=rtp:select=v:onfail=ignore:payload_type=${tapPayloadType}]${escapeTee(
    `rtp://127.0.0.1:${run.liveRtpPort}?pkt_size=${tapPacketBytes}`,
  )}`
  return ['-f', 'tee', `${ring}|${tap}`]
}

const quiet = ['-hide_banner', '-loglevel', 'error']

/** The video input, and the audio input when there is one (always input 1). */
function streamMaps(s: CaptureSettings): string[] {
  return s.hasAudio ? ['-map', '0:v', '-map', '1:a'] : ['-map', '0:v']
}

function simulatedPipeline(s: CaptureSettings, run: PipelineRunOptions): CapturePipeline {
  // testsrc2 with the capture-time mark (shared/live/time-mark.ts) drawn over its bottom-left corner.
  const source = `testsrc2=size=${s.widthPx}x${s.heightPx}:rate=${s.frameRate}[bg];${timeMarkSource(s.widthPx, s.frameRate)}[mark];[bg][mark]overlay=0:H-h:shortest=1`
  const video = ['-re', '-f', 'lavfi', '-i', source]
  const audio = s.hasAudio
    ? ['-re', '-f', 'lavfi', '-i', `sine=frequency=${simulatedToneHz}:sample_rate=${s.audioSampleRateHz}`]
    : []
  return {
    ffmpeg: {
      command: s.ffmpegPath,
      args: [
        ...quiet,
        '-nostdin',
        ...video,
        ...audio,
        ...streamMaps(s),
        ...x264Args(s),
        ...(s.hasAudio ? audioEncodeArgs() : []),
        ...outputArgs(s, run),
      ],
    },
  }
}

function v4l2Pipeline(s: CaptureSettings, run: PipelineRunOptions): CapturePipeline {
  const video = [
    '-f',
    'v4l2',
    ...(s.v4l2InputFormat ? ['-input_format', s.v4l2InputFormat] : []),
    '-framerate',
    String(s.frameRate),
    '-video_size',
    `${s.widthPx}x${s.heightPx}`,
    '-i',
    s.v4l2Device,
  ]
  return {
    ffmpeg: {
      command: s.ffmpegPath,
      args: [
        ...quiet,
        '-nostdin',
        ...video,
        ...(s.hasAudio ? alsaInputArgs(s) : []),
        ...streamMaps(s),
        ...x264Args(s),
        ...(s.hasAudio ? audioEncodeArgs() : []),
        ...outputArgs(s, run),
      ],
    },
  }
}

/**
 * rpicam-vid writes raw H.264 (Annex B) to stdout; ffmpeg stamps it with the wall clock and copies it
 * into segments. The CSI camera's /dev/video0 is not usable directly. The Pi 5 has no H.264 block, so
 * `--codec libav` encodes in software there; on a Pi 4 `--codec h264` uses the hardware encoder.
 */
function rpicamPipeline(s: CaptureSettings, run: PipelineRunOptions): CapturePipeline {
  // Name the encoder: rpicam-apps' libav default (h264_v4l2m2m) does not exist on a Pi 5 (rpicam-apps#643).
  const codecArgs =
    s.rpicamCodec === 'libav'
      ? ['--codec', 'libav', '--libav-video-codec', 'libx264', '--libav-format', 'h264']
      : ['--codec', 'h264', '--inline']
  const producer: CommandLine = {
    command: s.rpicamVidPath,
    args: [
      '-t',
      '0',
      '-n',
      ...codecArgs,
      '--width',
      String(s.widthPx),
      '--height',
      String(s.heightPx),
      '--framerate',
      String(s.frameRate),
      '--intra',
      String(framesPerSegment(s)),
      '-o',
      '-',
    ],
  }
  return {
    producer,
    ffmpeg: {
      command: s.ffmpegPath,
      args: [
        ...quiet,
        '-use_wallclock_as_timestamps',
        '1',
        '-f',
        'h264',
        '-framerate',
        String(s.frameRate),
        '-i',
        'pipe:0',
        ...(s.hasAudio ? alsaInputArgs(s) : []),
        ...streamMaps(s),
        '-c:v',
        'copy',
        ...(s.hasAudio ? audioEncodeArgs() : []),
        ...outputArgs(s, run),
      ],
    },
  }
}

/** Builds the capture pipeline for the configured source; pure, so it is unit-tested without a camera. */
export function buildCapturePipeline(
  settings: CaptureSettings,
  run: PipelineRunOptions = {},
): CapturePipeline {
  switch (settings.source) {
    case 'simulated':
      return simulatedPipeline(settings, run)
    case 'v4l2':
      return v4l2Pipeline(settings, run)
    case 'rpicam':
      return rpicamPipeline(settings, run)
  }
}
