import { chmodSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Browser, chromium } from 'playwright-core'
import type { TestNetns } from './test-netns.js'

/** Debian's Chromium, as the dashboard's browser test uses it. */
export const chromiumPath = '/usr/bin/chromium'

/**
 * Launches Debian's Chromium inside a network namespace (through a wrapper that execs it there; playwright
 * drives it over a pipe, so the namespace does not matter for control). Chromium gathers no ICE candidates
 * on a loopback-only interface, so WebRTC needs the namespace's veth; mDNS hiding is off so its candidates
 * carry that address. The fake camera and microphone replace hardware; the microphone plays `audioFile`.
 */
export async function launchChromiumIn(
  netns: TestNetns,
  dir: string,
  options: { audioFile: string },
): Promise<Browser> {
  const wrapper = join(dir, 'chromium-in-netns.sh')
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${netns.name} ${chromiumPath} "$@"\n`)
  chmodSync(wrapper, 0o755)
  return chromium.launch({
    executablePath: wrapper,
    timeout: 30_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      `--use-file-for-fake-audio-capture=${options.audioFile}`,
      '--autoplay-policy=no-user-gesture-required',
    ],
  })
}
