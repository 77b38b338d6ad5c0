/**
 * Timeline page benchmark: what one page of the dashboard's timeline (20 presses, each with its snapshot)
 * costs a phone in bytes, with the collector's thumbnails against the full snapshots a page would fetch
 * without them; how long a thumbnail takes, made and cached, against sending the snapshot as it is; and a
 * press's commit while a page of thumbnails is being made, against a page of full snapshots (a press never
 * waits); and the page's related media found in one lookup, against one lookup per press.
 * Snapshots are camera-sized: 1280x720 at the agent's quality, with noise at two scales so that they and
 * their thumbnails weigh what a photograph's do (about 145 KB and 10 KB; two real 720p photos gave 131/11
 * and 179/17 KB).
 * Run: npm run build && node dist/bench/timeline-page.js   (BENCH_TIMELINE_ROUNDS, default 5)
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ulid } from 'ulid'
import { collectorConfig } from '../collector/config.js'
import { startCollector } from '../collector/main.js'
import { findRelatedMedia, findRelatedMediaOfEach } from '../collector/store/related-media.js'
import { createEnvelope, type Envelope } from '../shared/protocol/index.js'
import { type BenchFigure, emitFigures } from './bench-figures.js'

const pageSize = 20
const rounds = Number(process.env.BENCH_TIMELINE_ROUNDS ?? 5)
const password = 'bench owner password'

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

function cameraJpeg(seed: number): Buffer {
  // Coarse noise survives the downscale as a photo's detail does; fine noise is the sensor's.
  const filter =
    `testsrc2=size=320x180,noise=alls=40:allf=t+u:all_seed=${seed},scale=1280x720:flags=bicubic,` +
    `noise=alls=10:allf=t+u:all_seed=${seed + 1}`
  return execFileSync(
    'ffmpeg',
    [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      filter,
      '-frames:v',
      '1',
      '-q:v',
      '4',
      '-c:v',
      'mjpeg',
      '-f',
      'image2pipe',
      '-',
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  )
}

function pressAndSnapshot(seq: number, atMs: number, jpeg: Buffer): [Envelope, Envelope] {
  const press = createEnvelope({
    deviceId: 'front-door',
    seq: seq * 2,
    id: ulid(atMs),
    capturedAtMs: atMs,
    type: 'button.press',
    payload: {},
  })
  const snapshot = createEnvelope({
    deviceId: 'front-door',
    seq: seq * 2 + 1,
    id: ulid(atMs + 300),
    capturedAtMs: atMs + 300,
    type: 'snapshot',
    payload: {
      relatesTo: press.id,
      contentType: 'image/jpeg',
      bytes: jpeg.length,
      sha256: createHash('sha256').update(jpeg).digest('hex'),
      data: jpeg.toString('base64'),
    },
  })
  return [press, snapshot]
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now()
  const value = await fn()
  return { ms: performance.now() - start, value }
}

const dir = mkdtempSync(join(tmpdir(), 'doorbell-bench-timeline-'))
const running = await startCollector(
  collectorConfig({ dataDir: dir, host: '127.0.0.1', mqtt: { port: 0, wsPort: null }, http: { port: 0 } }),
)
const figures: BenchFigure[] = []
try {
  await running.stores.homeowners.add('alice', password, 'viewer')
  const base = `http://127.0.0.1:${running.httpPort}`
  const login = await fetch(`${base}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'alice', password }),
  })
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
  const get = async (path: string): Promise<Buffer> => {
    const res = await fetch(`${base}${path}`, { headers: { cookie } })
    if (!res.ok) throw new Error(`${path}: ${res.status}`)
    return Buffer.from(await res.arrayBuffer())
  }

  const t0 = Date.now() - 60 * 60_000
  const jpegs = Array.from({ length: pageSize }, (_, i) => cameraJpeg(i + 1))
  const envelopes = jpegs.flatMap((jpeg, i) => pressAndSnapshot(i + 1, t0 + i * 60_000, jpeg))
  await running.store.commit({
    events: envelopes.map((e) => ({ ...e, receivedAtMs: Date.now() })),
    chunks: [],
  })
  // Readings as a doorbell sends them (a batch every 10 s), so the windows hold what they hold in life.
  const readings = Array.from({ length: (pageSize + 10) * 6 }, (_, i) =>
    createEnvelope({
      deviceId: 'front-door',
      seq: 5000 + i,
      id: ulid(t0 + i * 10_000 + 5),
      capturedAtMs: t0 + i * 10_000 + 5,
      type: 'temperature',
      payload: { celsius: 20 + (i % 5) / 10, sensor: 'ds18b20' },
    }),
  )
  await running.store.commit({
    events: readings.map((e) => ({ ...e, receivedAtMs: Date.now() })),
    chunks: [],
  })

  const listMs: number[] = []
  let list: Buffer = Buffer.alloc(0)
  for (let r = 0; r < rounds; r += 1) {
    const { ms, value } = await timed(() => get(`/api/events?type=button.press&limit=${pageSize}`))
    listMs.push(ms)
    list = value
  }
  const items = (JSON.parse(list.toString('utf8')) as { items: { media: { snapshotId: string } }[] }).items
  const snapshotIds = items.map((e) => e.media.snapshotId)
  if (snapshotIds.length !== pageSize || snapshotIds.some((id) => !id))
    throw new Error('list lacks snapshots')

  // Made (the first request of each), then cached; the full snapshot route as it is, for reference.
  const madeMs: number[] = []
  const cachedMs: number[] = []
  const snapshotMs: number[] = []
  let thumbnailBytes = 0
  let snapshotBytes = 0
  for (const id of snapshotIds) {
    const made = await timed(() => get(`/api/events/${id}/thumbnail`))
    madeMs.push(made.ms)
    thumbnailBytes += made.value.length
    for (let r = 0; r < rounds; r += 1)
      cachedMs.push((await timed(() => get(`/api/events/${id}/thumbnail`))).ms)
    const full = await timed(() => get(`/api/events/${id}/snapshot`))
    snapshotMs.push(full.ms)
    snapshotBytes += full.value.length
  }

  // A press committed (fsync'd) while a page of thumbnails is made, against an idle collector.
  const commitPress = async (i: number) =>
    (
      await timed(() =>
        running.store.commit({
          events: [
            { ...pressAndSnapshot(1000 + i, Date.now(), jpegs[0] as Buffer)[0], receivedAtMs: Date.now() },
          ],
          chunks: [],
        }),
      )
    ).ms
  const idleCommitMs: number[] = []
  for (let i = 0; i < rounds * 4; i += 1) idleCommitMs.push(await commitPress(i))
  const busyCommitMs: number[] = []
  for (let r = 0; r < rounds; r += 1) {
    // Fresh snapshots each round, so every thumbnail is made, not cached.
    const fresh = jpegs.flatMap((jpeg, i) => pressAndSnapshot(2000 + r * 100 + i, Date.now() + i, jpeg))
    await running.store.commit({ events: fresh.map((e) => ({ ...e, receivedAtMs: Date.now() })), chunks: [] })
    const page = Promise.all(
      fresh.filter((e) => e.type === 'snapshot').map((e) => get(`/api/events/${e.id}/thumbnail`)),
    )
    for (let i = 0; i < 4; i += 1) busyCommitMs.push(await commitPress(10_000 + r * 10 + i))
    await page
  }
  // The same page with the full snapshots, as the timeline fetched it before thumbnails.
  const fullCommitMs: number[] = []
  for (let r = 0; r < rounds; r += 1) {
    const page = Promise.all(snapshotIds.map((id) => get(`/api/events/${id}/snapshot`)))
    for (let i = 0; i < 4; i += 1) fullCommitMs.push(await commitPress(20_000 + r * 10 + i))
    await page
  }

  // The page's media found in one lookup for the page, against one lookup per press.
  const presses = (await running.store.queryEvents({ type: 'button.press', limit: pageSize })).items.slice(
    0,
    pageSize,
  )
  const batchMs: number[] = []
  const eachMs: number[] = []
  for (let r = 0; r < rounds; r += 1) {
    batchMs.push((await timed(() => findRelatedMediaOfEach(running.store, presses))).ms)
    eachMs.push((await timed(() => Promise.all(presses.map((e) => findRelatedMedia(running.store, e))))).ms)
  }

  const pageBytes = list.length + thumbnailBytes
  const referenceBytes = list.length + snapshotBytes
  figures.push(
    {
      name: 'timeline page bytes (20 presses, thumbnails)',
      value: pageBytes,
      unit: 'bytes',
      better: 'lower',
      reference: 'the same page with full snapshots',
      referenceValue: referenceBytes,
    },
    {
      name: 'thumbnail made, per request p50',
      value: median(madeMs),
      unit: 'ms',
      better: 'lower',
      reference: 'full snapshot sent as stored',
      referenceValue: median(snapshotMs),
    },
    {
      name: 'thumbnail cached, per request p50',
      value: median(cachedMs),
      unit: 'ms',
      better: 'lower',
      reference: 'full snapshot sent as stored',
      referenceValue: median(snapshotMs),
    },
    {
      name: 'press commit during a page of thumbnails p50',
      value: median(busyCommitMs),
      unit: 'ms',
      better: 'lower',
      reference: 'during a page of full snapshots',
      referenceValue: median(fullCommitMs),
    },
    {
      name: 'media of a page of 20 presses p50',
      value: median(batchMs),
      unit: 'ms',
      better: 'lower',
      reference: 'one lookup per press',
      referenceValue: median(eachMs),
    },
  )
  const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`
  console.log(`One timeline page of ${pageSize} presses with 1280x720 snapshots, real collector over HTTP:\n`)
  console.log('| figure | ours | reference | ours / reference |')
  console.log('|---|---|---|---|')
  console.log(
    `| bytes a phone fetches per page (list + images) | ${kb(pageBytes)} (thumbnails) | ${kb(referenceBytes)} (full snapshots) | ${(pageBytes / referenceBytes).toFixed(2)}x |`,
  )
  console.log(
    `| bytes per image, mean | ${kb(thumbnailBytes / pageSize)} | ${kb(snapshotBytes / pageSize)} | ${(thumbnailBytes / snapshotBytes).toFixed(2)}x |`,
  )
  for (const f of figures.slice(1)) {
    console.log(
      `| ${f.name} | ${f.value.toFixed(1)} ms | ${(f.referenceValue ?? 0).toFixed(1)} ms (${f.reference}) | ${(f.value / (f.referenceValue ?? 1)).toFixed(2)}x |`,
    )
  }
  console.log(`| press commit, idle, p50 | ${median(idleCommitMs).toFixed(1)} ms | | |`)
  console.log(
    `| GET /api/events (${pageSize} presses with their media), p50 | ${median(listMs).toFixed(1)} ms | | |`,
  )
} finally {
  await running.close()
  rmSync(dir, { recursive: true, force: true })
}
emitFigures('timeline-page', figures)
