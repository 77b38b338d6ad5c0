import { runProcess } from './run-process.js'

/** What ffprobe says about a media file. */
export interface MediaProbe {
  readonly durationMs: number
  readonly formatName: string
  readonly streams: readonly { readonly codecType: string; readonly codecName: string }[]
  readonly hasAudio: boolean
  readonly hasVideo: boolean
}

interface FfprobeJson {
  format?: { duration?: string; format_name?: string }
  streams?: { codec_type?: string; codec_name?: string }[]
}

/** Runs ffprobe on a file: duration (ms) and streams. */
export async function probeMedia(
  file: string,
  ffprobePath = 'ffprobe',
  timeoutMs = 10_000,
): Promise<MediaProbe> {
  const { stdout } = await runProcess(
    ffprobePath,
    [
      '-v',
      'error',
      '-show_entries',
      'format=duration,format_name:stream=codec_type,codec_name',
      '-of',
      'json',
      file,
    ],
    { timeoutMs },
  )
  const json = JSON.parse(stdout.toString('utf8')) as FfprobeJson
  const streams = (json.streams ?? []).map((s) => ({
    codecType: s.codec_type ?? '',
    codecName: s.codec_name ?? '',
  }))
  return {
    durationMs: Math.round(Number(json.format?.duration ?? 0) * 1000),
    formatName: json.format?.format_name ?? '',
    streams,
    hasAudio: streams.some((s) => s.codecType === 'audio'),
    hasVideo: streams.some((s) => s.codecType === 'video'),
  }
}
