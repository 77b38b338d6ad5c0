import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import { isDoorbellError } from '../../shared/errors.js'
import type { MseSocket } from './mse-viewer-stream.js'

/** Path of the fallback's WebSocket on the dashboard's HTTP server; the ticket goes in `?ticket=`. */
export const fallbackStreamPath = '/api/live/stream'

/** What the socket server needs of the live service. */
export interface FallbackOpener {
  /** Redeems a ticket (throws a DoorbellError for a bad one); returns how to attach the open socket. */
  openFallback(ticket: string): (socket: MseSocket) => () => void
}

function refuseUpgrade(socket: Duplex, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`)
}

/**
 * The fallback's WebSocket endpoint on the dashboard's server (HTTP or HTTPS). It is not a fastify route,
 * so the route table's session check does not apply: the one-time ticket (fallback-tickets.ts), asked for
 * with the session cookie and CSRF token, is what lets a socket in. The page sends nothing on it: any
 * message closes it (1008), and messages are at most 1 KiB.
 */
export function serveFallbackSockets(server: Server, live: FallbackOpener): { close(): void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 })
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(request.url ?? '/', 'http://localhost')
    if (url.pathname !== fallbackStreamPath) {
      refuseUpgrade(socket, '404 Not Found')
      return
    }
    let attach: (socket: MseSocket) => () => void
    try {
      attach = live.openFallback(url.searchParams.get('ticket') ?? '')
    } catch (err) {
      refuseUpgrade(socket, isDoorbellError(err) ? '403 Forbidden' : '500 Internal Server Error')
      return
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      ws.on('error', () => ws.terminate())
      ws.on('message', () => ws.close(1008, 'the live stream takes no messages'))
      const detach = attach(ws)
      ws.on('close', detach)
    })
  }
  server.on('upgrade', onUpgrade)
  return {
    close() {
      server.off('upgrade', onUpgrade)
      for (const client of wss.clients) client.terminate()
      wss.close()
    },
  }
}
