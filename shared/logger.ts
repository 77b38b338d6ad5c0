import { type DestinationStream, type Logger, pino } from 'pino'

/** Field paths pino replaces with [redacted]: secrets never reach a log line. */
export const redactedPaths = [
  'password',
  'secret',
  'token',
  'authorization',
  '*.password',
  '*.secret',
  '*.token',
  '*.authorization',
  '*.*.password',
  '*.*.secret',
  '*.*.token',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
]

/** Options of the project's logger. */
export interface LoggerOptions {
  readonly name: string
  /** pino level: fatal, error, warn, info, debug, trace or silent. */
  readonly level?: string
  /** Where lines go; standard output by default. Tests pass a stream to read them back. */
  readonly destination?: DestinationStream
}

/** A structured pino logger with secrets redacted. Only main.ts files create one. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: options.name,
      level: options.level ?? 'info',
      redact: { paths: redactedPaths, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  )
}

export type { Logger } from 'pino'
