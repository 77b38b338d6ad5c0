import type { Browser } from 'playwright-core'
import { launchChromiumInNetns } from '../../../bench/chromium.js'
import type { TestNetns } from './test-netns.js'

export { chromiumPath } from '../../../bench/chromium.js'

/** Debian's Chromium inside the test's namespace, with the fake camera and a microphone playing audioFile. */
export function launchChromiumIn(
  netns: TestNetns,
  dir: string,
  options: { audioFile: string },
): Promise<Browser> {
  return launchChromiumInNetns(netns.name, dir, options.audioFile)
}
