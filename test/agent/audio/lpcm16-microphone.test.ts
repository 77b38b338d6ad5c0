import { EventEmitter } from 'node:events'
import { fileURLToPath } from 'node:url'
import lpcm16 from 'node-record-lpcm16'
import { describe, expect, it } from 'vitest'
import {
  Lpcm16Microphone,
  type RecordFunction,
  toMicrophoneError,
} from '../../../agent/audio/lpcm16-microphone.js'
import type { PcmSink } from '../../../agent/audio/microphone.js'
import { isDoorbellError } from '../../../shared/errors.js'
import { eventually } from '../../support/eventually.js'

const sineRecorder = fileURLToPath(new URL('./fixtures/ffmpeg-sine-recorder.cjs', import.meta.url))

function collectingSink() {
  const pcm: Buffer[] = []
  const errors: Error[] = []
  const sink: PcmSink = { onPcm: (b) => pcm.push(b), onError: (e) => errors.push(e) }
  return { pcm, errors, sink, bytes: () => pcm.reduce((n, b) => n + b.length, 0) }
}

/** A stand-in for node-record-lpcm16 that behaves as the library does, driven by the test. */
function fakeLibrary() {
  const stream = new EventEmitter()
  const process = Object.assign(new EventEmitter(), {
    exitCode: null as number | null,
    signalCode: null as string | null,
    kill() {
      this.signalCode = 'SIGKILL'
      process.emit('close', null)
    },
  })
  const recording = {
    process,
    stream: () => stream,
    // Like the library: kill, then report the exit (code null) as an error string on the stream.
    stop() {
      process.signalCode = 'SIGTERM'
      stream.emit('error', 'arecord has exited with error code null.\n\nEnable debugging with DEBUG=record.')
      process.emit('close', null)
    },
    pause() {},
    resume() {},
    isPaused: () => false,
  }
  const record = (() => recording) as unknown as RecordFunction
  return { record, stream, process }
}

describe('toMicrophoneError', () => {
  it('turns the strings the library emits into catalogue Errors', () => {
    const err = toMicrophoneError('arecord has exited with error code 1.\n\nEnable debugging')
    expect(err).toBeInstanceOf(Error)
    expect(isDoorbellError(err, 'MICROPHONE_FAILED')).toBe(true)
    expect(err.message).toContain('arecord has exited with error code 1.')
    expect(err.message).not.toContain('Enable debugging')
  })
})

describe('Lpcm16Microphone with a library double', () => {
  it('reports a string error as an Error', () => {
    const lib = fakeLibrary()
    const out = collectingSink()
    new Lpcm16Microphone({ sampleRateHz: 16_000, record: lib.record }).start(out.sink)
    lib.stream.emit('error', 'arecord has exited with error code 1.')
    expect(out.errors).toHaveLength(1)
    expect(out.errors[0]).toBeInstanceOf(Error)
  })

  it('does not report its own stop as an error', async () => {
    const lib = fakeLibrary()
    const out = collectingSink()
    const mic = new Lpcm16Microphone({ sampleRateHz: 16_000, record: lib.record })
    mic.start(out.sink)
    await mic.stop()
    expect(out.errors).toEqual([])
  })

  it('carries a split sample over to the next chunk', () => {
    const lib = fakeLibrary()
    const out = collectingSink()
    new Lpcm16Microphone({ sampleRateHz: 16_000, record: lib.record }).start(out.sink)
    lib.stream.emit('data', Buffer.from([1, 2, 3]))
    lib.stream.emit('data', Buffer.from([4, 5]))
    expect(Buffer.concat(out.pcm)).toEqual(Buffer.from([1, 2, 3, 4]))
    expect(out.pcm.every((b) => b.length % 2 === 0)).toBe(true)
  })

  it('reports a failed spawn instead of crashing', () => {
    const lib = fakeLibrary()
    const out = collectingSink()
    new Lpcm16Microphone({ sampleRateHz: 16_000, record: lib.record }).start(out.sink)
    lib.process.emit('error', Object.assign(new Error('spawn arecord ENOENT'), { code: 'ENOENT' }))
    expect(out.errors[0]?.message).toContain('ENOENT')
  })
})

describe('Lpcm16Microphone restarts', () => {
  it('restarts a recorder that failed, after the delay, and not after stop', async () => {
    let starts = 0
    const libs: ReturnType<typeof fakeLibrary>[] = []
    const record = ((...args: Parameters<RecordFunction>) => {
      starts += 1
      const lib = fakeLibrary()
      libs.push(lib)
      return lib.record(...args)
    }) as RecordFunction
    const out = collectingSink()
    const mic = new Lpcm16Microphone({ sampleRateHz: 16_000, record, restartDelayMs: 10 })
    mic.start(out.sink)
    libs[0]?.stream.emit('error', 'arecord has exited with error code 1.')
    libs[0]?.process.emit('close', 1)
    await eventually(() => starts === 2, 'the recorder started twice', 10_000)
    await mic.stop()
    libs[1]?.stream.emit('error', 'late')
    await new Promise((r) => setTimeout(r, 50))
    expect(starts).toBe(2)
    expect(out.errors).toHaveLength(1)
  })
})

describe('Lpcm16Microphone with the real library', () => {
  it('the library itself reports its own stop as an error string (the quirk being wrapped)', async () => {
    const recording = lpcm16.record({ sampleRate: 16_000, recorder: sineRecorder, audioType: 'raw' })
    const errors: unknown[] = []
    recording.stream().on('error', (e: unknown) => errors.push(e))
    recording.stream().resume()
    await new Promise((r) => setTimeout(r, 300))
    recording.stop()
    await eventually(() => errors.length > 0, 'an error reported', 10_000)
    expect(typeof errors[0]).toBe('string')
    // null when the recorder dies of the signal; ffmpeg (255) and arecord (1) catch SIGTERM and exit non-zero.
    expect(String(errors[0])).toMatch(/has exited with error code (null|\d+)/)
  })

  it('delivers PCM and stops without an error', async () => {
    const out = collectingSink()
    const mic = new Lpcm16Microphone({ sampleRateHz: 16_000, recorder: sineRecorder })
    mic.start(out.sink)
    await eventually(() => out.bytes() >= 3200, '100 ms of PCM', 10_000)
    await mic.stop()
    await new Promise((r) => setTimeout(r, 50))
    expect(out.errors).toEqual([])
  })

  it('turns arecord failing (no sound card or bad device) into one Error', async () => {
    const out = collectingSink()
    const mic = new Lpcm16Microphone({ sampleRateHz: 16_000, device: 'doorbell-test-no-such-device' })
    mic.start(out.sink)
    await eventually(() => out.errors.length > 0, 'an error reported', 10_000)
    expect(out.errors[0]).toBeInstanceOf(Error)
    expect(isDoorbellError(out.errors[0], 'MICROPHONE_FAILED')).toBe(true)
    await mic.stop()
    expect(out.errors).toHaveLength(1)
  })
})
