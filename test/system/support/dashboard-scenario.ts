import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { type Browser, chromium, type Page } from 'playwright-core'
import { chromiumPath, headlessChromiumArgs } from '../../../bench/chromium.js'
import { type ComposedCollector, startCollector } from '../../../collector/main.js'
import {
  type AgentProcess,
  startAgentProcess,
  writeAgentConfigFile,
} from '../../agent/support/agent-process.js'
import { addDevice, tempDir, testConfig } from '../../collector/collector-harness.js'

export { chromiumPath } from '../../../bench/chromium.js'
/** Screenshots of the dashboard tests (git-ignored). */
export const dashboardArtifacts = join(import.meta.dirname, '../../../test-artifacts/dashboard')
/** How long one browser step may take. */
export const stepTimeoutMs = 15_000

/** Headless Chromium with the flags of the machine recipes: nothing reaches for hosts it cannot reach. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    timeout: stepTimeoutMs,
    args: [...headlessChromiumArgs],
  })
}

/** The real collector with a homeowner, the real agent program (--simulate) as front-door, and Chromium. */
export interface DashboardScenario {
  readonly collector: ComposedCollector
  readonly agent: AgentProcess
  readonly browser: Browser
  /** http://127.0.0.1:<port> of the dashboard. */
  readonly base: string
  /** The owner account: alice. */
  readonly owner: { readonly name: string; readonly password: string }
  /** Closes the browser, stops the agent and the collector, and removes the data. */
  close(): Promise<void>
}

/**
 * Starts a dashboard scenario: the collector in a temp folder, owner alice, the agent with the simulated
 * camera (small, short clips so a test takes seconds) and microphone, and a headless Chromium.
 */
export async function startDashboardScenario(name: string): Promise<DashboardScenario> {
  mkdirSync(dashboardArtifacts, { recursive: true })
  const dir = tempDir(name)
  const collectorDir = join(dir.path, 'collector')
  const secret = await addDevice(collectorDir, 'front-door')
  const collector = await startCollector(testConfig(collectorDir))
  const owner = { name: 'alice', password: 'front door owner pw' }
  await collector.stores.homeowners.add(owner.name, owner.password, 'owner')
  const agentConfig = await writeAgentConfigFile(
    dir.path,
    { url: `mqtt://127.0.0.1:${collector.mqttPort}`, secret },
    {
      health: { intervalMs: 1000 },
      media: {
        widthPx: 320,
        heightPx: 240,
        frameRate: 10,
        videoBitrateKbps: 300,
        prerollMs: 1000,
        postrollMs: 1000,
        ring: { segmentMs: 1000, maxSegments: 10 },
        microphone: { windowMs: 200, reportIntervalMs: 1000 },
      },
    },
  )
  const agent = await startAgentProcess(agentConfig)
  const browser = await launchChromium()
  return {
    collector,
    agent,
    browser,
    base: `http://127.0.0.1:${collector.httpPort}`,
    owner,
    close: async () => {
      await browser.close()
      if (agent.child.exitCode === null) await agent.stop()
      await collector.close()
      dir.cleanup()
    },
  }
}

/** Logs in on the page shown (the login form), and waits for the page behind it. */
export async function logIn(page: Page, account: { name: string; password: string }): Promise<void> {
  await page.fill('input[name=name]', account.name)
  await page.fill('input[name=password]', account.password)
  await page.click('button[type=submit]')
  await page.waitForSelector('#nav:not([hidden])')
}
