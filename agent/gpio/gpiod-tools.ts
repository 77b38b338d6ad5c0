import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { DoorbellError } from '../../shared/errors.js'

/** Major syntax of the libgpiod command-line tools: 1 (v1.6, Bookworm) or 2 (v2.x, Trixie). */
export type GpiodSyntax = 1 | 2

/** Where the libgpiod tools are; binDir undefined means $PATH. Tests point it at fake scripts. */
export interface GpiodTools {
  readonly binDir?: string | undefined
}

/** Path (or bare name) of one tool. */
export function gpiodToolPath(tools: GpiodTools, name: 'gpiomon' | 'gpioset' | 'gpiodetect'): string {
  return tools.binDir ? join(tools.binDir, name) : name
}

function run(file: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, [...args], { timeout: 5_000 }, (err, stdout, stderr) =>
      err ? reject(err) : resolve(`${stdout}${stderr}`),
    )
  })
}

/** Parses `gpiomon --version`: "gpiomon (libgpiod) v1.6.3" -> 1, "gpiomon (libgpiod) v2.1" -> 2. */
export function parseGpiodVersion(text: string): GpiodSyntax | undefined {
  const match = /libgpiod\)?\s*v?(\d+)\.(\d+)/i.exec(text) ?? /\bv(\d+)\.(\d+)/.exec(text)
  if (!match) return undefined
  const major = Number(match[1])
  return major >= 2 ? 2 : major === 1 ? 1 : undefined
}

/** Detects the installed tools' syntax; DEPENDENCY_MISSING when gpiomon is not installed. */
export async function detectGpiodSyntax(tools: GpiodTools): Promise<GpiodSyntax> {
  let text: string
  try {
    text = await run(gpiodToolPath(tools, 'gpiomon'), ['--version'])
  } catch (err) {
    throw new DoorbellError('DEPENDENCY_MISSING', 'gpiomon (apt-get install gpiod)', { cause: err })
  }
  const syntax = parseGpiodVersion(text)
  if (!syntax)
    throw new DoorbellError('DEPENDENCY_MISSING', `unknown libgpiod version: ${text.trim().slice(0, 80)}`)
  return syntax
}

/** One chip as gpiodetect lists it ("gpiochip0 [pinctrl-bcm2711] (58 lines)", same in 1.6 and 2.x). */
export interface GpiodChip {
  readonly name: string
  readonly label: string
  readonly lines: number
}

/** Parses gpiodetect output. */
export function parseGpiodetect(text: string): GpiodChip[] {
  const chips: GpiodChip[] = []
  for (const line of text.split('\n')) {
    const match = /^(gpiochip\d+)\s+\[([^\]]*)\]\s+\((\d+) lines?\)/.exec(line.trim())
    if (match?.[1] && match[2] !== undefined)
      chips.push({ name: match[1], label: match[2], lines: Number(match[3]) })
  }
  return chips
}

/** Lists chips with gpiodetect. */
export async function listGpiodChips(tools: GpiodTools): Promise<GpiodChip[]> {
  return parseGpiodetect(await run(gpiodToolPath(tools, 'gpiodetect'), []))
}

/** An edge as gpiomon printed it. */
export type GpiodEdge = 'rising' | 'falling'

/**
 * Parses one line of gpiomon's default output in either syntax:
 *   1.6: "event:  RISING EDGE offset: 17 timestamp: [1700000000.123456789]"
 *   2.x: "1700000000.123456789\trising\tgpiochip0 17"  (or with a quoted line name)
 */
export function parseGpiomonLine(line: string): GpiodEdge | undefined {
  const match = /\b(rising|falling)\b/i.exec(line)
  return match?.[1] ? (match[1].toLowerCase() as GpiodEdge) : undefined
}

/**
 * The command line of gpiomon for one line in each syntax. Active-low is applied by the caller, not the
 * tool. stdout is a pipe, so it must be line-buffered or a press waits in stdio's 4 KiB buffer: 1.6 has
 * --line-buffered; 2.x has no such flag (-b is bias there), so it runs under coreutils' stdbuf -oL.
 */
export function gpiomonCommand(
  tools: GpiodTools,
  syntax: GpiodSyntax,
  chip: string,
  line: number,
  bias: 'pull-up' | 'pull-down' | 'disable',
): { file: string; args: string[] } {
  const gpiomon = gpiodToolPath(tools, 'gpiomon')
  return syntax === 1
    ? { file: gpiomon, args: ['--line-buffered', `--bias=${bias}`, chip, String(line)] }
    : { file: 'stdbuf', args: ['-oL', gpiomon, `--bias=${bias}`, '--chip', chip, String(line)] }
}

/** Arguments of gpioset holding one line at a value until killed, in each syntax. */
export function gpiosetArgs(syntax: GpiodSyntax, chip: string, line: number, value: 0 | 1): string[] {
  return syntax === 1 ? ['--mode=signal', chip, `${line}=${value}`] : ['--chip', chip, `${line}=${value}`]
}
