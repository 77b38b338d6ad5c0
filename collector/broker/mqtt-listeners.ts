import { readFileSync } from 'node:fs'
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { type AddressInfo, createServer as createTcpServer, type Server, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { createServer as createTlsServer, type TLSSocket } from 'node:tls'
import type { Aedes } from 'aedes'
import { createWebSocketStream, WebSocketServer } from 'ws'
import { type LimiterRefusal, MqttPacketLimiter } from './mqtt-packet-limiter.js'
import type { PreAuthBudget } from './pre-auth-budget.js'

/** Where the listeners should bind. Ports of 0 pick free ones; null disables a listener. */
export interface MqttListenerOptions {
  readonly host: string
  readonly tcpPort: number
  readonly wsPort: number | null
  readonly tls?: {
    readonly port: number
    readonly certFile: string
    readonly keyFile: string
    readonly caFile?: string
  }
  readonly maxPacketBytes: number
  /** Connections the kernel may queue before they are accepted (capped by net.core.somaxconn). */
  readonly listenBacklog?: number
  /** Bounds on connections not yet authenticated (all together and per address). */
  readonly preAuth?: PreAuthBudget
  /** True when connections from this address are closed at once (it is backed off after failed logins). */
  readonly isAddressBlocked?: (address: string | undefined) => boolean
  readonly onRefused: (reason: LimiterRefusal | 'auth_backoff', declaredBytes: number) => void
  /** A TLS handshake failed (wrong CA, plain MQTT on the TLS port, bad client certificate). */
  readonly onTlsFailure: () => void
}

/** The bound listeners. */
export interface MqttListeners {
  readonly tcpPort: number
  readonly wsPort?: number
  readonly tlsPort?: number
  close(): Promise<void>
}

function listen(server: Server | HttpServer, port: number, host: string, backlog?: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, backlog, () => {
      server.off('error', reject)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

function closeServer(server: Server | HttpServer, sockets: Set<Duplex>): Promise<void> {
  for (const socket of sockets) socket.destroy()
  return new Promise((resolve) => server.close(() => resolve()))
}

/**
 * MQTT over TCP, TLS and WebSocket (path /mqtt). Every connection passes through an MqttPacketLimiter
 * before aedes sees a byte, and has Nagle off (delayed ACKs otherwise add tens of ms to small packets).
 */
export async function startMqttListeners(aedes: Aedes, options: MqttListenerOptions): Promise<MqttListeners> {
  const sockets = new Set<Duplex>()
  // One options object for every connection: a copy per connection would be kept for its life.
  const limiterOptions = {
    maxPacketBytes: options.maxPacketBytes,
    onRefused: options.onRefused,
    ...(options.preAuth ? { preAuth: options.preAuth } : {}),
  }
  const hand = (
    socket: Duplex,
    remoteAddress: string | undefined,
    req?: Parameters<Aedes['handle']>[1],
  ): void => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    // Closed before a byte is read (and, for mqtts, before the CONNECT): cheaper than refusing its login.
    if (options.isAddressBlocked?.(remoteAddress)) {
      options.onRefused('auth_backoff', 0)
      socket.destroy()
      return
    }
    const limited = new MqttPacketLimiter(socket, limiterOptions, remoteAddress)
    if (limited.destroyed) return
    aedes.handle(limited, req)
  }
  const closers: (() => Promise<void>)[] = []

  const tcp = createTcpServer((socket: Socket) => {
    socket.setNoDelay(true)
    hand(socket, socket.remoteAddress)
  })
  const tcpPort = await listen(tcp, options.tcpPort, options.host, options.listenBacklog)
  closers.push(() => closeServer(tcp, sockets))

  let tlsPort: number | undefined
  if (options.tls) {
    const { tls } = options
    const server = createTlsServer(
      {
        cert: readFileSync(tls.certFile),
        key: readFileSync(tls.keyFile),
        ...(tls.caFile ? { ca: readFileSync(tls.caFile), requestCert: true, rejectUnauthorized: false } : {}),
      },
      (socket: TLSSocket) => {
        socket.setNoDelay(true)
        hand(socket, socket.remoteAddress)
      },
    )
    server.on('connection', (raw: Socket) => {
      // Before the handshake, the costly part of a TLS connection.
      if (!options.isAddressBlocked?.(raw.remoteAddress)) return
      options.onRefused('auth_backoff', 0)
      raw.destroy()
    })
    server.on('tlsClientError', () => options.onTlsFailure())
    tlsPort = await listen(server, tls.port, options.host, options.listenBacklog)
    closers.push(() => closeServer(server, sockets))
  }

  let wsPort: number | undefined
  if (options.wsPort !== null) {
    const http = createHttpServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: connect to /mqtt\n')
    })
    const wss = new WebSocketServer({ server: http, path: '/mqtt', maxPayload: options.maxPacketBytes + 16 })
    wss.on('error', () => {})
    wss.on('connection', (ws, req) => {
      // ws refuses a frame over maxPayload from its header, before buffering it; count it like the limiter.
      ws.on('error', (err: Error & { code?: string }) => {
        if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') options.onRefused('packet_too_large', 0)
      })
      const stream = createWebSocketStream(ws)
      stream.on('error', () => {})
      hand(stream, req.socket.remoteAddress, req)
    })
    wsPort = await listen(http, options.wsPort, options.host, options.listenBacklog)
    closers.push(async () => {
      for (const client of wss.clients) client.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
      await closeServer(http, sockets)
    })
  }

  return {
    tcpPort,
    ...(wsPort === undefined ? {} : { wsPort }),
    ...(tlsPort === undefined ? {} : { tlsPort }),
    async close() {
      await Promise.all(closers.map((close) => close()))
    },
  }
}
