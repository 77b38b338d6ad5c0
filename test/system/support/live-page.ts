import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { Page } from 'playwright-core'
import { expect } from 'vitest'
import { signInFromPage } from '../../../bench/chromium.js'
import type { TestNetns } from './test-netns.js'

/**
 * The live page as the live-view tests drive it: logged in from inside the browser, opened on a loopback
 * forwarder in the browser's namespace (a secure context), and read back through what live.js exposes.
 */

/**
 * The agent settings of the live-view tests: a small camera, sensors and health quiet. They are about
 * relaying, not adaptation: a busy CI machine delays the round-trip probes, which would read as a congested
 * uplink and change the stream's rate in the middle of a measure. `media` is laid over the camera's.
 */
export function liveAgentSettings(media: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    health: { intervalMs: 600_000 },
    live: { adaptation: { queueDelayMs: 5000 } },
    sensors: { temperature: { intervalMs: 600_000 }, light: { intervalMs: 600_000 } },
    media: {
      widthPx: 320,
      heightPx: 240,
      frameRate: 10,
      videoBitrateKbps: 300,
      ring: { segmentMs: 1000, maxSegments: 10 },
      microphone: { windowMs: 200, reportIntervalMs: 600_000 },
      ...media,
    },
  }
}

/** What live.js exposes on the page's window (the DOM types are not in this project's TypeScript libs). */
/** The connection the page shows in its indicator (live.js, from getStats). */
export interface LiveLink {
  type: string
  transport: string
  remoteAddress?: string
  rttMs?: number
}

export interface LiveWindow {
  doorbellCsrfToken: string
  doorbellLive?: {
    frames: number
    firstFrameMs?: number
    latenciesMs: number[]
    viewerId?: string
    link?: LiveLink
    pc: {
      getReceivers(): { track: { kind: string; readyState: string } }[]
      getStats(): Promise<{
        forEach(cb: (r: { type: string; kind?: string; packetsReceived?: number }) => void): void
      }>
    }
  }
}

/** Runs the loopback forwarder inside the namespace; resolves with its port. */
export async function startForwarder(
  netns: TestNetns,
  host: string,
  port: number,
): Promise<{ child: ChildProcess; port: number }> {
  const script = new URL('./loopback-forwarder.mjs', import.meta.url).pathname
  const child = spawn('ip', ['netns', 'exec', netns.name, process.execPath, script, host, String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const line = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`forwarder exited with ${code}`)))
    if (!child.stdout) throw new Error('no stdout')
    createInterface({ input: child.stdout }).once('line', resolve)
  })
  return { child, port: Number(line) }
}

/** Logs a page in as a homeowner (from inside the browser) and opens the live view of front-door. */
export async function openLive(page: Page, base: string, name: string, secret: string): Promise<void> {
  const status = await signInFromPage(page, base, name, secret)
  expect(status).toBe(200)
  // A hash change in the same document: the app finds the new session and opens the live view once.
  await page.goto(`${base}/#/live/front-door`)
}

/** The live page's counters (live.js exposes them for tests and the benchmark). */
export function liveStats(
  page: Page,
): Promise<{ frames: number; firstFrameMs?: number; latenciesMs: number[]; viewerId?: string }> {
  return page.evaluate(() => {
    const s = (globalThis as unknown as LiveWindow).doorbellLive ?? {
      frames: 0,
      latenciesMs: [] as number[],
      firstFrameMs: undefined,
      viewerId: undefined,
    }
    return {
      frames: s.frames,
      latenciesMs: [...s.latenciesMs],
      ...(s.firstFrameMs ? { firstFrameMs: s.firstFrameMs } : {}),
      ...(s.viewerId ? { viewerId: s.viewerId } : {}),
    }
  })
}

/** The page's document, typed for what the tests read. */
export interface PageDocument {
  document: { getElementById(id: string): { textContent: string | null } | null }
}

/** Waits until the live page decoded `count` frames; a timeout names what the page and the collector saw. */
export async function waitForFrames(page: Page, count: number, timeoutMs = 20_000): Promise<void> {
  try {
    await page.waitForFunction(
      (n) => ((globalThis as unknown as LiveWindow).doorbellLive?.frames ?? 0) >= n,
      count,
      { timeout: timeoutMs },
    )
  } catch (err) {
    const state = await page.evaluate(() => ({
      state: (globalThis as unknown as PageDocument).document.getElementById('live-state')?.textContent,
      info: (globalThis as unknown as PageDocument).document.getElementById('live-info')?.textContent,
      frames: (globalThis as unknown as LiveWindow).doorbellLive?.frames,
      connection: (globalThis as unknown as { doorbellLive?: { pc?: { connectionState?: string } } })
        .doorbellLive?.pc?.connectionState,
    }))
    throw new Error(`no ${count} frames: page ${JSON.stringify(state)}`, { cause: err })
  }
}
