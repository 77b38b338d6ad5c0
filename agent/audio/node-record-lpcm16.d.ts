/** Types for node-record-lpcm16 1.0 (it ships none), limited to what Lpcm16Microphone uses. */
declare module 'node-record-lpcm16' {
  import type { ChildProcess } from 'node:child_process'
  import type { Readable } from 'node:stream'

  interface RecordOptions {
    sampleRate?: number
    channels?: number
    /** 'sox', 'rec', 'arecord', or an absolute path of a recorder module. */
    recorder?: string
    device?: string
    /** 'wav' (default) or 'raw'. */
    audioType?: string
    threshold?: number
    endOnSilence?: boolean
  }

  interface Recording {
    readonly process: ChildProcess
    /** Its 'error' event carries a string, not an Error. */
    stream(): Readable
    /** Kills the recorder with SIGTERM; the exit is then emitted as an 'error' string. */
    stop(): void
    pause(): void
    resume(): void
    isPaused(): boolean
  }

  function record(options?: RecordOptions): Recording

  const lpcm16: { record: typeof record }
  export default lpcm16
}
