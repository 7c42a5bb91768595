/** Answering an upgrade request on its raw socket (no WebSocket) with a short HTTP response. */
import type { Duplex } from 'node:stream'
import { STATUS_CODES } from 'node:http'

export function replyAndClose (socket: Duplex, status: number, body: string): void {
  if (!socket.writable) { socket.destroy(); return }
  const text = `${body}\n`
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
    'Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`
  )
  // end() flushes then closes; if the client never reads, do not keep the socket around.
  setTimeout(() => socket.destroy(), 1000).unref()
}
