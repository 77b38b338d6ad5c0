// Run by test/system/arm64-agent.test.ts under the arm64 emulator, from inside the arm64 app folder given as
// argv[2]: writes and reads a Level store with sync writes (classic-level), opens a WebRTC data channel between
// two node-datachannel peers in this process, and prints which native files it mapped (from /proc/self/maps,
// which QEMU reports for the emulated program).
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'

const [app, dbDir] = process.argv.slice(2)
const require = createRequire(join(app, 'package.json'))
const { Level } = await import(require.resolve('level'))
const db = new Level(dbDir, { valueEncoding: 'json' })
await db.open()
await db.put('probe', { arch: process.arch }, { sync: true })
const level = await db.get('probe')
await db.close()

const ndc = await import(require.resolve('node-datachannel'))
const message = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('no data channel message in 30 s')), 30_000)
  const a = new ndc.PeerConnection('a', { iceServers: [] })
  const b = new ndc.PeerConnection('b', { iceServers: [] })
  a.onLocalDescription((sdp, type) => b.setRemoteDescription(sdp, type))
  a.onLocalCandidate((candidate, mid) => b.addRemoteCandidate(candidate, mid))
  b.onLocalDescription((sdp, type) => a.setRemoteDescription(sdp, type))
  b.onLocalCandidate((candidate, mid) => a.addRemoteCandidate(candidate, mid))
  b.onDataChannel((channel) =>
    channel.onMessage((m) => {
      clearTimeout(timer)
      a.close()
      b.close()
      resolve(String(m))
    }),
  )
  const channel = a.createDataChannel('probe')
  channel.onOpen(() => channel.sendMessage('ding'))
})
ndc.cleanup()

const mapped = new Set(
  readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .map((line) => line.split(/\s+/).slice(5).join(' '))
    .filter((path) => path.endsWith('.node')),
)
console.log(
  JSON.stringify({ arch: process.arch, version: process.version, level, message, nativeFiles: [...mapped] }),
)
