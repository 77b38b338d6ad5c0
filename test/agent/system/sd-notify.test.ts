import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../../agent/clock/manual-clock.js'
import { SystemdNotifier } from '../../../agent/system/sd-notify.js'

function setup(env: Record<string, string>) {
  const clock = new ManualClock()
  const calls: string[][] = []
  const notifier = new SystemdNotifier({
    env,
    pid: 4242,
    clock,
    run: async (args) => {
      calls.push([...args])
    },
  })
  return { clock, calls, notifier }
}

describe('SystemdNotifier', () => {
  it('does nothing without NOTIFY_SOCKET', async () => {
    const { calls, notifier } = setup({ WATCHDOG_USEC: '10000000' })
    await notifier.ready()
    await notifier.stopping()
    expect(calls).toEqual([])
  })

  it('sends READY with the main pid, then WATCHDOG every half period while healthy', async () => {
    const { clock, calls, notifier } = setup({
      NOTIFY_SOCKET: '/run/systemd/notify',
      WATCHDOG_USEC: '10000000',
    })
    let isHealthy = true
    await notifier.ready(() => isHealthy)
    expect(calls[0]).toEqual(['--pid=4242', '--ready'])
    expect(calls[1]).toEqual(['--pid=4242', 'WATCHDOG=1'])
    clock.advance(5_000)
    expect(calls).toHaveLength(3)
    isHealthy = false
    clock.advance(5_000)
    expect(calls).toHaveLength(3)
    await notifier.stopping()
    expect(calls.at(-1)).toEqual(['--pid=4242', 'STOPPING=1'])
    clock.advance(20_000)
    expect(calls).toHaveLength(4)
  })

  it('sends only READY when systemd set no watchdog', async () => {
    const { clock, calls, notifier } = setup({ NOTIFY_SOCKET: '@notify' })
    await notifier.ready()
    clock.advance(60_000)
    expect(calls).toHaveLength(1)
  })
})
