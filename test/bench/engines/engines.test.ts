import { once } from 'node:events'
import { type AddressInfo, connect, createServer, type Socket } from 'node:net'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHaproxy } from '../../../bench/engines/haproxy-engine.js'
import { type PostgresEngine, startPostgres } from '../../../bench/engines/postgres-engine.js'
import { startRedis } from '../../../bench/engines/redis-engine.js'

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(sql)).rows
  } finally {
    await client.end()
  }
}

/** Sends one line to a TCP server on 127.0.0.1:port and returns what it answers before it closes or 200 ms pass. */
function ask(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port })
    let answer = ''
    const timer = setTimeout(() => socket.destroy(), 200)
    socket.once('error', reject)
    socket.on('data', (data) => {
      answer += String(data)
    })
    socket.once('close', () => {
      clearTimeout(timer)
      resolve(answer)
    })
    socket.once('connect', () => socket.write(line))
  })
}

describe('PostgreSQL engine', () => {
  let engine: PostgresEngine
  beforeAll(async () => {
    engine = await startPostgres()
  })
  afterAll(async () => {
    await engine?.close()
  })

  it('serves SQL on a loopback port, running as a user other than root', async () => {
    const rows = (await query(engine.url(), 'SELECT current_user AS who, 1 + 1 AS two')) as { two: number }[]
    expect(rows).toEqual([{ who: 'doorbell', two: 2 }])
    expect(engine.url()).toMatch(/^postgres:\/\/doorbell@127\.0\.0\.1:\d+\/postgres$/)
  })

  it('copies a template database with its tables and rows', async () => {
    await engine.createTemplate('engines_template', async (url) => {
      await query(url, 'CREATE TABLE t (n int); INSERT INTO t VALUES (7)')
    })
    const copy = await engine.createDatabase('engines_copy', 'engines_template')
    expect(await query(copy, 'SELECT n FROM t')).toEqual([{ n: 7 }])
  })

  it('keeps committed data across a fast stop and across kill -9, on the same port', async () => {
    const url = await engine.createDatabase('engines_restart')
    await query(url, 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (1)')
    const pid = engine.process.pid
    await engine.stop()
    expect(engine.process.isRunning).toBe(false)
    await expect(query(url, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/)
    await engine.start()
    await query(url, 'INSERT INTO kept VALUES (2)')
    await engine.kill9()
    await engine.start()
    expect(engine.process.pid).not.toBe(pid)
    expect(await query(url, 'SELECT n FROM kept ORDER BY n')).toEqual([{ n: 1 }, { n: 2 }])
  })
})

describe('Redis engine', () => {
  it('answers PING on a loopback port and stops by its PID', async () => {
    const redis = await startRedis()
    try {
      expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`)
      expect(await ask(redis.port, 'PING\r\n')).toBe('+PONG\r\n')
    } finally {
      await redis.close()
    }
    expect(redis.process.isRunning).toBe(false)
    await expect(ask(redis.port, 'PING\r\n')).rejects.toThrow(/ECONNREFUSED/)
  })

  it('keeps keys across a restart when persistent', async () => {
    const redis = await startRedis({ isPersistent: true })
    try {
      expect(await ask(redis.port, 'SET k v\r\n')).toBe('+OK\r\n')
      await redis.stop()
      await redis.start()
      expect(await ask(redis.port, 'GET k\r\n')).toBe('$1\r\nv\r\n')
    } finally {
      await redis.close()
    }
  })
})

describe('HAProxy engine', () => {
  /** A TCP server that answers every connection with its name; kill() drops it like a dead node. */
  async function namedServer(name: string): Promise<{ port: number; kill(): Promise<void> }> {
    const sockets = new Set<Socket>()
    const server = createServer((socket) => {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      // HAProxy's health checks close at once; their resets are not this test's concern.
      socket.on('error', () => {})
      socket.end(name)
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    return {
      port: (server.address() as AddressInfo).port,
      async kill() {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        for (const socket of sockets) socket.destroy()
        await closed
      },
    }
  }

  it('balances TCP connections over the nodes and stops sending to a dead one', async () => {
    const a = await namedServer('a')
    const b = await namedServer('b')
    const proxy = await startHaproxy({ services: [{ name: 'mqtt', backendPorts: [a.port, b.port] }] })
    try {
      const port = proxy.ports.mqtt as number
      const seen = new Set<string>()
      for (let i = 0; i < 6; i++) seen.add(await ask(port, 'hi'))
      expect(seen).toEqual(new Set(['a', 'b']))
      await a.kill()
      // Two failed health checks 250 ms apart take node a out of rotation.
      await new Promise((resolve) => setTimeout(resolve, 1500))
      const after = new Set<string>()
      for (let i = 0; i < 6; i++) after.add(await ask(port, 'hi'))
      expect(after).toEqual(new Set(['b']))
      expect(await proxy.command('show servers state mqtt')).toMatch(/n2/)
    } finally {
      await proxy.close()
      await b.kill()
    }
  })
})
