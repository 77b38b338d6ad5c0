import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
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
 * The dashboard as the doorbell app on a phone, in a real Chromium against the real collector and the real
 * agent (--simulate): a 390x844 touch screen in New York. Thumbnails of presses, times in the homeowner's
 * zone, a layout without horizontal scrolling and with 44 px tap targets, and the push notification's
 * "Live" action through the real service worker. Screenshots: test-artifacts/dashboard/phone-*.png.
 */

const zone = 'America/New_York'
const phone = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 3,
  isMobile: true,
  hasTouch: true,
  timezoneId: zone,
  locale: 'en-US',
}

/** The row's time as the page should show it in a zone (time.js, en-US, a press of today). */
function clockIn(timeZone: string, iso: string): string {
  return new Date(iso).toLocaleTimeString('en-US', {
    timeZone,
    hour: 'numeric',
    minute: '2-digit',
    second: '2-digit',
  })
}

/** Elements a finger taps that are under 44x44 px, named with their size; a checkbox counts as its label. */
const smallTapTargetsScript = `[...document.querySelectorAll('a[href], button, select, input, summary')]
  .map((el) => (el.type === 'checkbox' ? (el.closest('label') ?? el) : el))
  .filter((el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden')
  .flatMap((el) => {
    const r = el.getBoundingClientRect()
    const name = el.tagName.toLowerCase() + ' "' + (el.textContent ?? '').trim().slice(0, 30) + '" ' +
      Math.round(r.width) + 'x' + Math.round(r.height)
    return r.width < 44 || r.height < 44 ? [name] : []
  })`

async function smallTapTargets(page: Page): Promise<string[]> {
  return await page.evaluate(smallTapTargetsScript)
}

async function overflowPx(page: Page): Promise<number> {
  return await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')
}

describe('the doorbell app on a phone', () => {
  let scenario: DashboardScenario
  let context: BrowserContext
  let page: Page
  let pressId = ''
  let pressAt = ''

  const shot = (name: string): Promise<Buffer> =>
    page.screenshot({ path: join(dashboardArtifacts, `phone-${name}.png`), fullPage: true })

  beforeAll(async () => {
    scenario = await startDashboardScenario('dashboard-phone')
    context = await scenario.browser.newContext(phone)
    await context.grantPermissions(['notifications'], { origin: scenario.base })
    page = await context.newPage()
    page.setDefaultTimeout(stepTimeoutMs)
  }, 60_000)

  afterAll(async () => {
    await scenario?.close()
  })

  it('fits the login form on the screen', async () => {
    await page.goto(`${scenario.base}/`)
    await page.waitForSelector('#login-form')
    const overflow = await overflowPx(page)
    const small = await smallTapTargets(page)
    await shot('login')
    // Logged in before the checks, so a layout failure here does not fail every test after it.
    await logIn(page, scenario.owner)
    await page.waitForFunction("document.getElementById('live')?.textContent === 'live'")
    expect(overflow).toBeLessThanOrEqual(0)
    expect(small).toEqual([])
  })

  it('shows a press with a placeholder, then its snapshot as a thumbnail when it arrives, without a reload', async () => {
    // What the newest row showed, in order (a page script: the tests' TypeScript has no DOM types).
    await page.evaluate(`(() => {
      const seen = []
      window.thumbStates = seen
      new MutationObserver(() => {
        const row = document.querySelector('#timeline li[data-event-id]')
        const img = row?.querySelector('img.thumb')
        const state = img ? 'img' : row?.querySelector('.thumb.placeholder') ? 'placeholder' : ''
        if (state && seen.at(-1) !== state) seen.push(state)
      }).observe(document.getElementById('timeline'), { childList: true, subtree: true })
    })()`)
    const navigations: string[] = []
    page.on('framenavigated', (frame) => navigations.push(frame.url()))
    const press = await scenario.agent.post('/button/press')
    expect(press.status).toBe(200)
    pressId = String(press.body.id)
    const row = `#timeline [data-event-id="${pressId}"]`
    await page.waitForSelector(`${row} img.thumb`, { timeout: 20_000 })
    await page.waitForFunction(`(document.querySelector('${row} img.thumb')?.naturalWidth ?? 0) > 0`)
    expect(await page.evaluate('window.thumbStates')).toEqual(['placeholder', 'img'])
    expect(navigations).toEqual([])
    const src = await page.getAttribute(`${row} img.thumb`, 'src')
    const snapshotId = src?.match(/\/api\/events\/(\w+)\/thumbnail/)?.[1]
    const snapshot = snapshotId ? await scenario.collector.store.getEvent(snapshotId) : undefined
    expect(snapshot?.type === 'snapshot' && snapshot.payload.relatesTo).toBe(pressId)
    pressAt = (await scenario.collector.store.getEvent(pressId))?.capturedAt ?? ''
    await shot('timeline')
  })

  it('lists the press with its thumbnail after a reload (the list carries the snapshot id)', async () => {
    await page.reload()
    const img = `#timeline [data-event-id="${pressId}"] img.thumb`
    await page.waitForFunction(`(document.querySelector('${img}')?.naturalWidth ?? 0) > 0`)
    expect(await page.getAttribute(img, 'loading')).toBe('lazy')
  })

  it('shows times in the browser zone (America/New_York), not UTC', async () => {
    const shown = await page.textContent(`#timeline [data-event-id="${pressId}"] time`)
    expect(shown).toBe(clockIn(zone, pressAt))
    expect(shown).not.toBe(clockIn('UTC', pressAt))
    await page.click(`#timeline [data-event-id="${pressId}"] a`)
    await page.waitForSelector('.event time')
    const detail = (await page.textContent('.event time')) ?? ''
    expect(detail).toContain(clockIn(zone, pressAt))
    expect(detail).toMatch(/E[SD]T$/)
    await shot('event')
    await page.goto(`${scenario.base}/#/stats`)
    await page.waitForSelector('text=Doorbell presses: 1')
    const hour = Number(
      new Date(pressAt).toLocaleString('en-US', { timeZone: zone, hour: 'numeric', hourCycle: 'h23' }),
    )
    expect(await page.textContent('h3')).toContain(`peak ${hour}:00`)
    await shot('visitors')
  })

  it('shows times in the zone of the settings over the browser zone', async () => {
    await page.goto(`${scenario.base}/#/settings`)
    await page.selectOption('#time-zone', 'Asia/Tokyo')
    await page.click('#settings-form button[type=submit]')
    await page.waitForSelector('#settings-status:text("Saved.")')
    await page.goto(`${scenario.base}/#/`)
    const time = `#timeline [data-event-id="${pressId}"] time`
    await page.waitForSelector(time)
    expect(await page.textContent(time)).toBe(clockIn('Asia/Tokyo', pressAt))
    // The zone comes with the session, so a reload keeps it.
    await page.reload()
    await page.waitForSelector(time)
    expect(await page.textContent(time)).toBe(clockIn('Asia/Tokyo', pressAt))
    await page.goto(`${scenario.base}/#/settings`)
    await page.selectOption('#time-zone', '')
    await page.click('#settings-form button[type=submit]')
    await page.waitForSelector('#settings-status:text("Saved.")')
  })

  it('fits every page on a 390x844 screen: no horizontal scrolling, tap targets of at least 44 px', async () => {
    for (const [name, hash, ready] of [
      ['timeline', '#/', '#timeline li'],
      ['event', `#/event/${pressId}`, '.event time'],
      ['devices', '#/devices', 'svg.chart, .card p.muted'],
      ['visitors', '#/stats', 'svg.chart'],
      ['settings', '#/settings', '#settings-form'],
      // The live page's layout (WebRTC itself is the live view test's, in a network namespace).
      ['live', '#/live/front-door', '#live-video'],
    ] as const) {
      await page.goto(`${scenario.base}/${hash}`)
      await page.waitForSelector(ready)
      expect(await overflowPx(page), name).toBeLessThanOrEqual(0)
      expect(await smallTapTargets(page), name).toEqual([])
      if (name === 'devices' || name === 'settings' || name === 'live') await shot(name)
    }
  })

  it('shows a pushed press with a Live action (the real service worker, push delivered over CDP)', async () => {
    await page.goto(`${scenario.base}/#/`)
    await page.waitForSelector('#timeline li')
    await page.evaluate('navigator.serviceWorker.ready.then(() => true)')
    const cdp = await context.newCDPSession(page)
    const registrations: { registrationId: string; scopeURL: string; isDeleted: boolean }[] = []
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => registrations.push(...e.registrations))
    await cdp.send('ServiceWorker.enable')
    const registration = await eventually(
      () => registrations.find((r) => !r.isDeleted && r.scopeURL === `${scenario.base}/`),
      'service worker registration',
      5000,
    )
    const alert = {
      v: 1,
      id: pressId,
      tag: pressId,
      kind: 'press',
      isUpdate: false,
      deviceId: 'front-door',
      title: 'Doorbell: front-door',
      body: 'Someone is at the door (front button).',
      snapshotId: null,
    }
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: scenario.base,
      registrationId: registration.registrationId,
      data: JSON.stringify(alert),
    })
    const shown = await eventually(
      () =>
        page.evaluate(`navigator.serviceWorker.ready
          .then((r) => r.getNotifications())
          .then((notes) => notes.map((n) => ({ title: n.title, tag: n.tag, actions: n.actions, data: n.data }))[0])`),
      'notification shown',
      5000,
    )
    expect(shown).toMatchObject({
      title: 'Doorbell: front-door',
      tag: pressId,
      actions: [{ action: 'live', title: 'Live' }],
      data: { url: `/#/event/${pressId}`, liveUrl: '/#/live/front-door' },
    })
  })

  it('opens the live page of the device for "Live" and the event for the body (the click logic in the worker)', async () => {
    // Chromium headless cannot click a notification, so the worker's own click logic is run in the worker on
    // the notification it showed: targetOf(action, data), then open(), which navigates the open dashboard.
    const [worker] = context.serviceWorkers()
    if (!worker) throw new Error('no service worker')
    const click = (action: string) =>
      worker.evaluate(`self.registration.getNotifications()
        .then(([note]) => self.doorbellNotifications.open(
          self.doorbellNotifications.targetOf(${JSON.stringify(action)}, note.data)))
        .then(() => true)`)
    await click('live')
    await page.waitForURL(`${scenario.base}/#/live/front-door`)
    await click('')
    await page.waitForURL(`${scenario.base}/#/event/${pressId}`)
    await page.waitForSelector('.event time')
  })

  it('signs in first when the Live link of an alert is opened without a session, then shows the live page', async () => {
    const fresh = await scenario.browser.newContext(phone)
    try {
      const other = await fresh.newPage()
      other.setDefaultTimeout(stepTimeoutMs)
      // <publicUrl>/live/<deviceId> is the link alerts carry (ntfy's Live button, the alert JSON's liveUrl).
      await other.goto(`${scenario.base}/live/front-door`)
      await other.waitForSelector('#login-form')
      expect(new URL(other.url()).hash).toBe('#/live/front-door')
      await logIn(other, scenario.owner)
      expect(new URL(other.url()).hash).toBe('#/live/front-door')
      expect(await other.getAttribute('nav a[aria-current="page"]', 'href')).toBe('#/devices')
    } finally {
      await fresh.close()
    }
  })
})
