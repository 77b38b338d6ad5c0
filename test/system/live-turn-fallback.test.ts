import { type ChildProcess, execFileSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ComposedCollector, startCollector } from '../../collector/main.js'
import { type AgentProcess, startAgentProcess, writeAgentConfigFile } from '../agent/support/agent-process.js'
import { addDevice, tempDir, testConfig } from '../collector/collector-harness.js'
import { eventually } from '../support/eventually.js'
import { type Coturn, coturnUnavailableReason, startCoturn } from './support/coturn.js'
import {
  type LiveLink,
  type LiveWindow,
  liveAgentSettings,
  liveStats,
  openLive,
  type PageDocument,
  startForwarder,
  waitForFrames,
} from './support/live-page.js'
import { chromiumPath, launchChromiumIn } from './support/netns-chromium.js'
import { netnsUnavailableReason, removeStaleNetns, TestNetns } from './support/test-netns.js'

/**
 * The ways a browser reaches the collector when its bound address does not do (docs/live.md, "TURN and the
 * public address"): the real collector, the real agent program in a namespace as the Pi, Debian's coturn,
 * and Debian's Chromium in a second namespace whose network the test shapes with iptables:
 * - the collector's bound address is unreachable from the phone, and a NAT (DNAT in the phone's namespace)
 *   forwards `live.publicAddress` to it: the browser plays through the announced public address;
 * - nothing reaches the collector's addresses directly: the browser plays through coturn's relay;
 * - all UDP out of the phone is dropped: WebRTC finds no path (TURN over TCP is refused by libjuice,
 *   docs/live.md), and the page falls back to fragmented MP4 over a WebSocket into MSE.
 * Each time the page's indicator shows the connection.
 */

const password = 'front door owner pw'
const turnSecret = 'turn-shared-secret-0123456789'
/** An address of TEST-NET-3 (RFC 5737) standing for the collector's public address. */
const publicAddress = '203.0.113.10'
/** The simulated microphone's tone at the door. */
const doorToneHz = 660
const indexBase = 220 + (process.pid % 15) * 2
const nsPrefix = 'lt'
const skipReason =
  netnsUnavailableReason() ??
  coturnUnavailableReason() ??
  (existsSync(chromiumPath) ? undefined : `${chromiumPath} is missing`)

/** What the page's indicator shows and what it read. */
async function indicator(page: Page, shows = /RTT \d+ ms/): Promise<{ text: string; link: LiveLink }> {
  await page.waitForFunction(() => (globalThis as unknown as LiveWindow).doorbellLive?.link, undefined, {
    timeout: 10_000,
  })
  const link = await page.evaluate(() => (globalThis as unknown as LiveWindow).doorbellLive?.link as LiveLink)
  // The text follows the stats within a second; wait for the RTT (or the fallback's lag) to show.
  await page.waitForFunction(
    ([source]) =>
      new RegExp(source as string).test(
        (globalThis as unknown as PageDocument).document.getElementById('live-link')?.textContent ?? '',
      ),
    [shows.source],
  )
  return { text: (await page.textContent('#live-link')) ?? '', link }
}

/** The strongest frequency in the live video's output and its level. */
interface Tone {
  peakHz: number
  peakDb: number
}

/** Routes the live video's sound through an analyser (in the page; the element plays through it). */
const listenToVideo = `(() => {
  const video = document.getElementById('live-video')
  const context = new AudioContext()
  const analyser = context.createAnalyser()
  analyser.fftSize = 8192
  analyser.smoothingTimeConstant = 0
  context.createMediaElementSource(video).connect(analyser)
  analyser.connect(context.destination)
  window.liveAnalyser = analyser
  return context.resume()
})()`

/** The strongest bin over a second of the analyser's spectra (in the page). */
const strongestTone = `(async () => {
  const analyser = window.liveAnalyser
  const bins = new Float32Array(analyser.frequencyBinCount)
  const hzPerBin = analyser.context.sampleRate / analyser.fftSize
  let best = { peakHz: 0, peakDb: -Infinity }
  // Past the analyser's window (8192 samples, 171 ms): nothing from before a click is in it.
  await new Promise((resolve) => setTimeout(resolve, 300))
  for (let i = 0; i < 10; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    analyser.getFloatFrequencyData(bins)
    for (let b = 2; b < bins.length; b += 1)
      if (bins[b] > best.peakDb) best = { peakHz: b * hzPerBin, peakDb: bins[b] }
  }
  return { peakHz: best.peakHz, peakDb: Math.max(best.peakDb, -1000) }
})()`

describe.skipIf(skipReason !== undefined)(
  'live view through a public address, through TURN, and through the fallback when all UDP is blocked',
  () => {
    const dir = tempDir('live-turn')
    const pi = new TestNetns(`${nsPrefix}${process.pid}a`, indexBase)
    const phone = new TestNetns(`${nsPrefix}${process.pid}b`, indexBase + 1)
    let collector: ComposedCollector
    let agent: AgentProcess
    let coturn: Coturn
    let browser: Browser
    let forwarder: { child: ChildProcess; port: number }
    let context: BrowserContext
    let base = ''
    const sessions = () => collector.live.service?.sessions().size ?? 0
    /**
     * Opens the live view and waits for frames, once more if the first session shows none: about one
     * session start in ten fails on this machine whatever the path (docs/live.md, "Not done yet"), and
     * these tests are about the path. A path that does not work fails both.
     */
    const openLiveWithOneRetry = async (page: Page, frames: number): Promise<void> => {
      await openLive(page, base, 'alice', password)
      try {
        await waitForFrames(page, frames, 12_000)
      } catch {
        await page.click('#live-stop')
        await eventually(() => sessions() === 0, 'failed session ended', 5000)
        await page.goto(`${base}/#/devices`)
        await page.evaluate("location.hash = '#/live/front-door'")
        await waitForFrames(page, frames)
      }
    }
    /** Removes every rule a test added to the phone's namespace (also after a failed test). */
    const resetFirewall = () => {
      phone.exec('iptables', '-t', 'nat', '-F', 'OUTPUT')
      phone.exec('iptables', '-F', 'OUTPUT')
      phone.exec('iptables', '-F', 'INPUT')
    }

    beforeAll(async () => {
      removeStaleNetns(nsPrefix, (name) => (name.endsWith('a') ? indexBase : indexBase + 1))
      pi.up()
      phone.up()
      // coturn on the phone's side of this host, relaying from the address the collector binds.
      coturn = await startCoturn({
        ip: phone.hostIp,
        relayIp: phone.hostIp,
        secret: turnSecret,
        dir: dir.path,
      })
      const collectorDir = join(dir.path, 'collector')
      mkdirSync(collectorDir, { recursive: true })
      const secret = await addDevice(collectorDir, 'front-door')
      collector = await startCollector(
        testConfig(collectorDir, {
          host: pi.hostIp,
          live: {
            udpPort: 0,
            bindAddress: pi.hostIp,
            publicAddress,
            turn: { secret: turnSecret, urls: [coturn.url('udp'), coturn.url('tcp')] },
          },
        }),
      )
      await collector.stores.homeowners.add('alice', password, 'owner')
      const agentConfig = await writeAgentConfigFile(
        dir.path,
        { url: `mqtt://${pi.hostIp}:${collector.mqttPort}`, secret },
        // The door's microphone plays 660 Hz, apart from the phone's 440 Hz: the fallback's sound is the door's.
        liveAgentSettings({
          microphone: {
            windowMs: 200,
            reportIntervalMs: 600_000,
            simulatedToneHz: doorToneHz,
            simulatedLevelDbfs: -20,
          },
        }),
      )
      agent = await startAgentProcess(agentConfig, 20_000, pi.prefix)
      await eventually(() => collector.presence.get('front-door')?.state === 'online', 'agent online')
      forwarder = await startForwarder(phone, pi.hostIp, collector.httpPort ?? 0)
      base = `http://127.0.0.1:${forwarder.port}`
      const tone = join(dir.path, 'tone.wav')
      execFileSync('sox', ['-n', '-r', '48000', '-c', '1', '-b', '16', tone, 'synth', '5', 'sine', '440'])
      browser = await launchChromiumIn(phone, dir.path, { audioFile: tone })
      context = await browser.newContext()
    }, 90_000)

    afterAll(async () => {
      await browser?.close().catch(() => undefined)
      forwarder?.child.kill('SIGTERM')
      if (agent) await agent.stop()
      await collector?.close()
      await coturn?.stop()
      pi.down()
      phone.down()
      dir.cleanup()
    }, 30_000)

    it('plays through the announced public address when the bound one cannot be reached', async () => {
      // A NAT in front of the collector: the public address is forwarded to the bound one, and the bound one
      // itself is unreachable from the phone (dropped unless it was addressed to the public address).
      phone.exec(
        'iptables',
        '-t',
        'nat',
        '-A',
        'OUTPUT',
        '-d',
        publicAddress,
        '-p',
        'udp',
        '-j',
        'DNAT',
        '--to-destination',
        pi.hostIp,
      )
      // Neither way: nothing the phone sends to the bound address (unless it was sent to the public one),
      // and no new flow from it (the collector's own checks would otherwise open the direct path).
      phone.exec(
        'iptables',
        '-A',
        'OUTPUT',
        '-p',
        'udp',
        '-m',
        'conntrack',
        '--ctorigdst',
        pi.hostIp,
        '-j',
        'DROP',
      )
      phone.exec(
        'iptables',
        '-A',
        'INPUT',
        '-s',
        pi.hostIp,
        '-p',
        'udp',
        '-m',
        'conntrack',
        '--ctstate',
        'NEW',
        '-j',
        'DROP',
      )
      // And no relay: coturn is out of this browser's reach, so the public address is the one way in.
      phone.exec('iptables', '-A', 'OUTPUT', '-d', phone.hostIp, '-j', 'REJECT')
      const page = await context.newPage()
      page.setDefaultTimeout(20_000)
      await openLiveWithOneRetry(page, 10)
      const { text, link } = await indicator(page)
      expect(link, JSON.stringify(link)).toMatchObject({
        type: 'host',
        transport: 'UDP',
        remoteAddress: publicAddress,
      })
      expect(text).toMatch(/^direct · UDP · RTT \d+ ms/)
      await page.click('#live-stop')
      await page.close()
      await eventually(() => sessions() === 0, 'session ended', 5000)
    }, 60_000)

    it('plays through TURN when the collector cannot be reached directly: frames decode, the indicator shows the relay', async () => {
      resetFirewall()
      // Symmetric NAT, or a network that lets UDP out only to known servers: nothing reaches the collector's
      // addresses directly, so the one way in is the relay coturn allocated for this browser.
      for (const address of [pi.hostIp, publicAddress])
        phone.exec('iptables', '-A', 'OUTPUT', '-d', address, '-p', 'udp', '-j', 'DROP')
      // A fresh browser profile: its own sign-in, nothing kept from the direct session.
      await context.close()
      context = await browser.newContext()
      const page = await context.newPage()
      page.setDefaultTimeout(20_000)
      await openLiveWithOneRetry(page, 20)
      const { text, link } = await indicator(page)
      expect(link).toMatchObject({ type: 'relay', transport: 'UDP' })
      expect(text).toMatch(/^relayed \(TURN\) · UDP · RTT \d+ ms/)
      // The direct way was tried and dropped: the relay is the fallback, not a preference.
      const rules = phone.exec('iptables', '-L', 'OUTPUT', '-v', '-x', '-n')
      const dropped = rules
        .split('\n')
        .filter((l) => l.includes('DROP'))
        .reduce((n, l) => n + Number(l.trim().split(/\s+/)[0]), 0)
      expect(dropped).toBeGreaterThan(0)
      // coturn checked the credentials the collector gave this browser for this session.
      expect(
        coturn.lines.some((l) => /user <\d+:alice>: incoming packet ALLOCATE processed, success/.test(l)),
      ).toBe(true)
      await page.click('#live-stop')
      await page.close()
      await eventually(() => sessions() === 0, 'session ended', 5000)
    }, 60_000)

    it("plays through the fallback (fMP4 over WebSocket into MSE) when all UDP is blocked: frames decode at live, with the door's sound", async () => {
      resetFirewall()
      // Every UDP packet out of the phone is dropped: no direct path, no TURN over UDP. coturn over TCP
      // still allocates, but its checks are refused by libjuice (docs/live.md), so WebRTC never connects.
      phone.exec('iptables', '-A', 'OUTPUT', '-o', phone.nsInterface, '-p', 'udp', '-j', 'DROP')
      await context.close()
      context = await browser.newContext()
      const page = await context.newPage()
      page.setDefaultTimeout(20_000)
      await openLive(page, base, 'alice', password)
      await waitForFrames(page, 30, 20_000)
      const { text, link } = await indicator(page, /behind/)
      expect(link).toMatchObject({ type: 'mse', transport: 'WebSocket' })
      expect(text).toMatch(/^fallback \(no UDP path\) · WebSocket · \d+ ms behind$/)
      // The picture moves: the element's clock advances and the capture-time mark is read from new frames.
      const before = await liveStats(page)
      const clockBefore = Number(await page.evaluate("document.getElementById('live-video').currentTime"))
      await new Promise((resolve) => setTimeout(resolve, 2000))
      const after = await liveStats(page)
      const clockAfter = Number(await page.evaluate("document.getElementById('live-video').currentTime"))
      expect(after.frames - before.frames).toBeGreaterThan(10)
      expect(clockAfter - clockBefore).toBeGreaterThan(1)
      // Glass to glass from the mark in each decoded frame: bounded, not seconds behind.
      const recent = after.latenciesMs.slice(-15).sort((a, b) => a - b)
      const medianMs = recent[Math.floor(recent.length / 2)] ?? Number.NaN
      expect(medianMs).toBeLessThan(1000)
      // The door's sound plays too: the stream has an Opus track, Chromium decodes it, and the element's
      // output (an analyser on it) carries the door's tone once the page is unmuted, silence while muted.
      expect(await page.evaluate('window.doorbellLive.fallback.hasAudio')).toBe(true)
      expect(await page.textContent('#live-info')).toMatch(/picture and sound over the fallback/)
      const audioBytes = () =>
        page.evaluate("document.getElementById('live-video').webkitAudioDecodedByteCount")
      const bytesBefore = Number(await audioBytes())
      await new Promise((resolve) => setTimeout(resolve, 1000))
      expect(Number(await audioBytes())).toBeGreaterThan(bytesBefore)
      await page.evaluate(listenToVideo)
      expect(await page.textContent('#live-mute')).toBe('Unmute')
      const muted = (await page.evaluate(strongestTone)) as Tone
      expect(muted.peakDb).toBeLessThan(-100)
      await page.click('#live-mute')
      const unmuted = (await page.evaluate(strongestTone)) as Tone
      expect(Math.abs(unmuted.peakHz - doorToneHz)).toBeLessThan(doorToneHz * 0.05)
      expect(unmuted.peakDb).toBeGreaterThan(-70)
      await page.click('#live-mute')
      const mutedAgain = (await page.evaluate(strongestTone)) as Tone
      expect(mutedAgain.peakDb).toBeLessThan(-100)
      // The UDP that was tried went nowhere: the fallback is the last resort, not a preference.
      const dropped = phone.exec('iptables', '-L', 'OUTPUT', '-v', '-x', '-n')
      expect(
        Number(
          dropped
            .split('\n')
            .find((l) => l.includes('DROP'))
            ?.trim()
            .split(/\s+/)[0],
        ),
      ).toBeGreaterThan(0)
      // A socket without a valid ticket is refused (403) before any upgrade.
      const refused = await page.evaluate(async () => {
        const tryOpen = (url: string) =>
          new Promise<string>((resolve) => {
            const socket = new WebSocket(url)
            socket.onopen = () => {
              socket.close()
              resolve('open')
            }
            socket.onerror = () => resolve('refused')
          })
        const { origin } = (globalThis as unknown as { location: { origin: string } }).location
        return tryOpen(`${origin.replace(/^http/, 'ws')}/api/live/stream?ticket=made-up`)
      })
      expect(refused).toBe('refused')
      const metrics = await (await fetch(`http://${pi.hostIp}:${collector.httpPort}/metrics`)).text()
      expect(metrics).toMatch(/doorbell_collector_live_fallbacks_total [1-9]/)
      process.stdout.write(
        `fallback: first frame ${after.firstFrameMs?.toFixed(0)} ms after "Live", glass-to-glass median ${medianMs} ms; ` +
          `sound: muted ${muted.peakDb.toFixed(0)} dB, unmuted ${unmuted.peakDb.toFixed(0)} dB at ${unmuted.peakHz.toFixed(0)} Hz, muted again ${mutedAgain.peakDb.toFixed(0)} dB\n`,
      )
      await page.click('#live-stop')
      await page.close()
      await eventually(() => sessions() === 0, 'session ended', 5000)
    }, 90_000)
  },
)
