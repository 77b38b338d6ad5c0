import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../support/eventually.js'
import {
  type DashboardScenario,
  dashboardArtifacts,
  logIn,
  startDashboardScenario,
  stepTimeoutMs,
} from './support/dashboard-scenario.js'

/**
 * The dashboard in a real Chromium (Debian's, driven by playwright-core) against the real collector and the
 * real agent program with --simulate. Screenshots go to test-artifacts/dashboard/ (git-ignored).
 */

describe('homeowner dashboard in a browser', () => {
  let scenario: DashboardScenario
  let page: Page
  let base: string
  let pressId = ''

  const shot = (name: string): Promise<Buffer> =>
    page.screenshot({ path: join(dashboardArtifacts, `${name}.png`), fullPage: true })

  beforeAll(async () => {
    scenario = await startDashboardScenario('dashboard-browser')
    base = scenario.base
    page = await scenario.browser.newPage({ viewport: { width: 1000, height: 700 } })
    page.setDefaultTimeout(stepTimeoutMs)
  }, 60_000)

  afterAll(async () => {
    await scenario?.close()
  })

  it('logs in', async () => {
    await page.goto(`${base}/`)
    await logIn(page, scenario.owner)
    await page.waitForSelector('#timeline')
    // launch() gives each run a fresh temporary profile (user-data dir).
    await page.waitForFunction("document.getElementById('live')?.textContent === 'live'")
    await shot('timeline-empty')
  })

  it('shows a press of the simulated button live, without a reload', async () => {
    const navigations: string[] = []
    page.on('framenavigated', (frame) => navigations.push(frame.url()))
    const press = await scenario.agent.post('/button/press')
    expect(press.status).toBe(200)
    pressId = String(press.body.id)
    await page.waitForSelector(`#timeline [data-event-id="${pressId}"]`)
    expect(navigations).toEqual([])
    await shot('timeline-live-press')
  })

  it('opens the event with its snapshot', async () => {
    const store = scenario.collector.store
    await eventually(
      async () =>
        (await store.queryEvents({ type: 'snapshot' })).items.some(
          (e) => e.type === 'snapshot' && e.payload.relatesTo === pressId,
        ),
      'snapshot of the press stored',
      20_000,
    )
    await page.click(`[data-event-id="${pressId}"] a`)
    await page.waitForSelector('h3:text("Clip")')
    expect(page.url()).toContain(`#/event/${pressId}`)
    await page.waitForFunction("(document.querySelector('img#snapshot')?.naturalWidth ?? 0) > 0")
    await shot('event-detail')
  })

  it('plays the clip of the press (video readyState >= 2)', async () => {
    const store = scenario.collector.store
    const clipId = await eventually(
      async () => {
        const manifests = (await store.queryEvents({ type: 'clip.manifest' })).items
        const found = manifests.find((e) => e.type === 'clip.manifest' && e.payload.relatesTo === pressId)
        return found?.type === 'clip.manifest' ? found.payload.clipId : undefined
      },
      'clip manifest of the press',
      30_000,
    )
    await eventually(async () => (await store.getClip(clipId))?.state === 'complete', 'clip complete', 30_000)
    await page.reload()
    await page.waitForSelector('video#clip')
    await page.waitForFunction("(document.querySelector('video#clip')?.readyState ?? 0) >= 2")
    await shot('event-clip')
  })

  it('shows device health with charts, visitor statistics and the settings page', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await scenario.agent.post('/temperature', { celsius: 18 + i })).status).toBe(200)
      expect((await scenario.agent.post('/light', { lux: 200 + 50 * i })).status).toBe(200)
    }
    await eventually(
      async () => (await scenario.collector.store.queryEvents({ type: 'light' })).items.length >= 3,
      'readings stored',
      10_000,
    )
    await page.goto(`${base}/#/devices`)
    await page.waitForSelector('svg.chart')
    await shot('devices')
    await page.goto(`${base}/#/stats`)
    await page.waitForSelector('text=Doorbell presses: 1')
    await shot('visitors')
    await page.goto(`${base}/#/settings`)
    await page.waitForSelector('#settings-form')
    await shot('settings')
  })

  it('a page left before its data arrived does not draw over the page opened after it', async () => {
    // The devices page's data takes a second; the user goes on to the statistics meanwhile.
    let delayed = 0
    await page.route('**/api/devices/health', async (route) => {
      delayed += 1
      await new Promise((resolve) => setTimeout(resolve, 1000))
      await route.continue()
    })
    try {
      await page.evaluate("location.hash = '#/devices'")
      await eventually(() => delayed === 1, 'the devices request on its way', 5000)
      await page.evaluate("location.hash = '#/stats'")
      await page.waitForSelector('text=Doorbell presses: 1')
      // Past the time the devices page's data arrived and it would have drawn itself.
      await page.waitForTimeout(1500)
      expect(await page.locator('text=Visitors by hour of day').count()).toBe(1)
      expect(await page.locator('text=Last heartbeat').count()).toBe(0)
    } finally {
      await page.unroute('**/api/devices/health')
    }
  })
})
