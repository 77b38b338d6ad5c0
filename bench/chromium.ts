import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'

/** Debian's Chromium: no browser is downloaded. */
export const chromiumPath = '/usr/bin/chromium'

/**
 * Flags for headless Chromium on a machine with a closed network: without the background-networking ones it
 * keeps trying hosts it cannot reach, and as root it needs --no-sandbox.
 */
export const headlessChromiumArgs: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/**
 * Launches Chromium inside a network namespace, through a wrapper that execs it there (playwright drives it
 * over a pipe, so the namespace does not matter for control). Chromium gathers no ICE candidates on a
 * loopback-only interface, so WebRTC needs the namespace's veth; mDNS hiding is off so its candidates carry
 * that address. The fake camera and microphone replace hardware; the microphone plays `audioFile`.
 */
export async function launchChromiumInNetns(
  netnsName: string,
  dir: string,
  audioFile: string,
  timeoutMs = 30_000,
): Promise<Browser> {
  const { chromium } = await import('playwright-core')
  const wrapper = join(dir, 'chromium-in-netns.sh')
  await writeFile(wrapper, `#!/bin/sh\nexec ip netns exec ${netnsName} ${chromiumPath} "$@"\n`)
  await chmod(wrapper, 0o755)
  return chromium.launch({
    executablePath: wrapper,
    timeout: timeoutMs,
    args: [
      ...headlessChromiumArgs,
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      `--use-file-for-fake-audio-capture=${audioFile}`,
      '--autoplay-policy=no-user-gesture-required',
    ],
  })
}

/** Logs a page in as a homeowner from inside the browser (so it holds the session cookie); the HTTP status. */
export async function signInFromPage(
  page: Page,
  base: string,
  name: string,
  password: string,
): Promise<number> {
  await page.goto(`${base}/`)
  return page.evaluate(
    async ([user, pw]) =>
      (
        await fetch('/api/login', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: user, password: pw }),
        })
      ).status,
    [name, password] as const,
  )
}
