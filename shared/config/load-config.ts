import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import type { z } from 'zod'
import { DoorbellError } from '../errors.js'

/**
 * One way to load config for every program: a YAML file, then DOORBELL_* environment overrides, validated
 * once with every problem reported at once (each naming its field), then deeply frozen.
 *
 * Environment names map to fields by `__` for nesting and SCREAMING_SNAKE for camelCase:
 * DOORBELL_MQTT__URL -> mqtt.url, DOORBELL_MEDIUM__BATCH_INTERVAL_MS -> medium.batchIntervalMs.
 * Values are read as YAML scalars, so `5000` is a number and `true` a boolean.
 */

/** Where to read config from. `env` is passed in; only main.ts reads process.env. */
export interface LoadConfigOptions<S extends z.ZodType> {
  readonly schema: S
  /** Path of the YAML file; absent means defaults plus environment only. */
  readonly file?: string | undefined
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Prefix of the environment variables that override fields. */
  readonly envPrefix?: string
  /**
   * Fields that no longer exist, by dotted path, each with what to do instead. Setting one is a problem
   * reported under its own path (not as an unknown key of its parent), alongside the others.
   */
  readonly removedFields?: Readonly<Record<string, string>>
}

/** Recursively freezes a value so config cannot change after start. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}

function camelCase(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())
}

/** Field path of an environment variable, e.g. DOORBELL_MQTT__URL -> ['mqtt', 'url']. */
export function envPath(name: string, prefix: string): string[] | undefined {
  if (!name.startsWith(prefix)) return undefined
  const rest = name.slice(prefix.length)
  if (rest === '' || rest === 'CONFIG') return undefined
  return rest.split('__').map(camelCase)
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target
  for (const key of path.slice(0, -1)) {
    const next = node[key]
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {}
    node = node[key] as Record<string, unknown>
  }
  const last = path.at(-1)
  if (last !== undefined) node[last] = value
}

/** Deletes the field at path from target; true when it was set. */
function takePath(target: Record<string, unknown>, path: readonly string[]): boolean {
  let node: unknown = target
  for (const key of path.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return false
    node = (node as Record<string, unknown>)[key]
  }
  const last = path.at(-1)
  if (last === undefined || node === null || typeof node !== 'object' || !Object.hasOwn(node, last))
    return false
  delete (node as Record<string, unknown>)[last]
  return true
}

function readYamlFile(file: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new DoorbellError(
      'CONFIG_UNREADABLE',
      `${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      {
        cause: err,
        details: { path: file },
      },
    )
  }
  let value: unknown
  try {
    value = parseYaml(text) ?? {}
  } catch (err) {
    throw new DoorbellError('CONFIG_UNREADABLE', `${file}: ${(err as Error).message.split('\n')[0]}`, {
      cause: err,
      details: { path: file },
    })
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new DoorbellError('CONFIG_UNREADABLE', `${file}: the top level must be a mapping`, {
      details: { path: file },
    })
  }
  return value as Record<string, unknown>
}

/** Loads, overrides, validates and freezes config; throws CONFIG_INVALID listing every bad field. */
export function loadConfig<S extends z.ZodType>(options: LoadConfigOptions<S>): Readonly<z.output<S>> {
  const prefix = options.envPrefix ?? 'DOORBELL_'
  const raw = options.file ? readYamlFile(options.file) : {}
  const sources = new Map<string, string>()
  for (const [name, text] of Object.entries(options.env ?? {})) {
    const path = envPath(name, prefix)
    if (!path || text === undefined) continue
    let value: unknown
    try {
      value = parseYaml(text)
    } catch {
      value = text
    }
    setPath(raw, path, value)
    sources.set(path.join('.'), name)
  }
  // Taken out before validation, so the schema reports the rest and each removed field is named once.
  const found = Object.entries(options.removedFields ?? {}).filter(([field]) =>
    takePath(raw, field.split('.')),
  )
  const result = options.schema.safeParse(raw)
  if (!result.success || found.length > 0) {
    const issues = result.success ? [] : result.error.issues
    const problems = [
      ...found.map(([field, message]) => ({ field, message })),
      ...issues.map((issue) => ({
        field: issue.path.map(String).join('.') || '(root)',
        message: issue.message,
      })),
    ].map((p) => {
      const from = sources.get(p.field)
      return { ...p, ...(from ? { env: from } : {}) }
    })
    const lines = problems.map((p) => `  ${p.field}: ${p.message}${p.env ? ` (from ${p.env})` : ''}`)
    throw new DoorbellError(
      'CONFIG_INVALID',
      `${problems.length} problem(s)${options.file ? ` in ${options.file}` : ''}\n${lines.join('\n')}`,
      {
        details: { problems },
      },
    )
  }
  return deepFreeze(result.data)
}
