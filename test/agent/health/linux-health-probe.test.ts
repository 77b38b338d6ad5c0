import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { LinuxHealthProbe, parseWirelessSignalDbm } from '../../../agent/health/linux-health-probe.js'

const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

const wireless = `Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE
 face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22
 wlan0: 0000   54.  -56.  -256        0      0      0      0     47        0
`

describe('LinuxHealthProbe', () => {
  it('parses the Wi-Fi signal level from /proc/net/wireless', () => {
    expect(parseWirelessSignalDbm(wireless)).toBe(-56)
    expect(parseWirelessSignalDbm(wireless.split('\n').slice(0, 2).join('\n'))).toBeNull()
  })

  it('reads CPU temperature, free disk and Wi-Fi from fake /sys and /proc trees', async () => {
    const root = await mkdtemp(join(tmpdir(), 'fake-host-'))
    dirs.push(root)
    await mkdir(join(root, 'sys/class/thermal/thermal_zone0'), { recursive: true })
    await writeFile(join(root, 'sys/class/thermal/thermal_zone0/temp'), '48234\n')
    await mkdir(join(root, 'proc/net'), { recursive: true })
    await writeFile(join(root, 'proc/net/wireless'), wireless)
    const probe = new LinuxHealthProbe({
      dataDir: root,
      sysRoot: join(root, 'sys'),
      procRoot: join(root, 'proc'),
    })
    const health = await probe.read()
    expect(health.cpuTempC).toBe(48.2)
    expect(health.wifiRssiDbm).toBe(-56)
    expect(health.diskFreeBytes).toBeGreaterThan(0)
  })

  it('reports null for what the host does not have', async () => {
    const probe = new LinuxHealthProbe({
      dataDir: '/nonexistent',
      sysRoot: '/nonexistent',
      procRoot: '/nonexistent',
    })
    expect(await probe.read()).toEqual({ cpuTempC: null, diskFreeBytes: null, wifiRssiDbm: null })
  })
})
