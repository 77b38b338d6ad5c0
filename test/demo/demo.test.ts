import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, describe, expect, it } from 'vitest'

const demoMain = new URL('../../dist/demo/main.js', import.meta.url).pathname

/** Waits until a line matching pattern is printed, with a deadline. */
function nextLine(lines: string[], listeners: Set<() => void>, pattern: RegExp, deadlineMs = 15_000) {
  return new Promise<RegExpMatchArray>((resolve, reject) => {
    const check = () => {
      for (const line of lines) {
        const match = line.match(pattern)
        if (match) {
          clearTimeout(timer)
          listeners.delete(check)
          resolve(match)
          return
        }
      }
    }
    const timer = setTimeout(() => {
      listeners.delete(check)
      reject(new Error(`no line matching ${pattern} in ${deadlineMs} ms:\n${lines.join('\n')}`))
    }, deadlineMs)
    listeners.add(check)
    check()
  })
}

describe('npm start (the demo)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'doorbell-demo-'))
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

  it('runs the collector and a simulated doorbell whose press is stored and announced', async () => {
    const child = spawn(process.execPath, [demoMain, '--data-dir', dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const lines: string[] = []
    const listeners = new Set<() => void>()
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        lines.push(line)
        for (const listener of [...listeners]) listener()
      })
    }
    try {
      const [, controlUrl] = await nextLine(
        lines,
        listeners,
        /Ring the doorbell .* curl -X POST -H .content-type: application\/json. (\S+)\/button\/press/,
      )
      const [, healthUrl] = await nextLine(lines, listeners, /Collector, health\s+(\S+)/)
      expect((await fetch(healthUrl as string)).status).toBe(200)
      const press = await fetch(`${controlUrl}/button/press`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      })
      expect(press.status).toBe(200)
      const { id } = (await press.json()) as { id: string }
      await nextLine(lines, listeners, new RegExp(`DING DONG: button\\.press from front-door.*id ${id}`))
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      expect(await exited).toBe(0)
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  })

  it('starts again on the same data folder with the same device', async () => {
    const child = spawn(process.execPath, [demoMain, '--data-dir', dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const lines: string[] = []
    const listeners = new Set<() => void>()
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line)
      for (const listener of [...listeners]) listener()
    })
    try {
      await nextLine(lines, listeners, /The doorbell demo is running/)
      await nextLine(lines, listeners, /front-door is online/)
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
      child.kill('SIGINT')
      expect(await exited).toBe(0)
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  })
})
