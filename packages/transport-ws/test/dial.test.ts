import { createHash } from 'node:crypto'
import http from 'node:http'
import type { Duplex } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { NodeKey, parseStreamAddress } from '@switchyard/p2p'
import { waitFor, waitForEvent } from '@switchyard/testing'
import { resolveLimits, wsDialer } from '@switchyard/transport-ws'

const servers: http.Server[] = []
afterEach(() => { for (const s of servers.splice(0)) { s.closeAllConnections(); s.close() } })

/** A bare server that accepts the upgrade by hand and records the raw bytes of the first frame. */
async function rawServer (): Promise<{ port: number, headers: Array<http.IncomingHttpHeaders>, bytes: Buffer[] }> {
  const headers: Array<http.IncomingHttpHeaders> = []
  const bytes: Buffer[] = []
  const server = http.createServer()
  server.on('upgrade', (req, socket: Duplex) => {
    headers.push(req.headers)
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']!}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64')
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`)
    socket.on('data', (b: Buffer) => bytes.push(b))
  })
  servers.push(server)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as { port: number }).port, headers, bytes }
}

describe('wsDialer', () => {
  it('sends our ID in the PeerID header (not in the URL), to /ws; masks with random keys unless zeroMask', async () => {
    const me = NodeKey.generate().id
    const them = NodeKey.generate().id
    for (const zero of [false, true]) {
      const srv = await rawServer()
      const dial = wsDialer({ peerId: me, limits: resolveLimits({}), ...(zero ? { zeroMask: true } : {}) })
      const { stream, remoteIp } = await dial(parseStreamAddress(`ws://${them}@127.0.0.1:${srv.port}`), { timeout: 5000 })
      expect(remoteIp).toBe('127.0.0.1')
      stream.on('error', () => {})
      stream.write(Buffer.alloc(100, 0xab))
      await waitFor(() => Buffer.concat(srv.bytes).length >= 2 + 4 + 100, { what: 'the first frame' })
      expect(srv.headers[0]).toMatchObject({ peerid: me })
      expect(srv.headers[0]!.authorization).toBeUndefined()
      const frame = Buffer.concat(srv.bytes)
      expect(frame[0]).toBe(0x82) // FIN, binary
      expect(frame[1]).toBe(0x80 | 100) // masked, 100 bytes
      const key = frame.subarray(2, 6)
      const payload = frame.subarray(6, 106).map((b, i) => b ^ key[i % 4]!)
      expect(Buffer.from(payload)).toEqual(Buffer.alloc(100, 0xab))
      if (zero) expect([...key]).toEqual([0, 0, 0, 0])
      else expect([...key]).not.toEqual([0, 0, 0, 0])
      stream.destroy()
    }
  })

  it('a refused upgrade is ERR_WS_UPGRADE_REFUSED with the status; nothing listening is ERR_DIAL_FAILED', async () => {
    const server = http.createServer((_req, res) => { res.writeHead(503).end() })
    server.on('upgrade', (_req, socket: Duplex) => { socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n') })
    servers.push(server)
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as { port: number }).port
    const dial = wsDialer({ peerId: NodeKey.generate().id, limits: resolveLimits({}) })
    const id = NodeKey.generate().id
    await expect(dial(parseStreamAddress(`ws://${id}@127.0.0.1:${port}`), { timeout: 5000 })).rejects.toMatchObject({ code: 'ERR_WS_UPGRADE_REFUSED', status: 503 })
    server.close()
    await waitForEvent(server, 'close')
    servers.pop()
    await expect(dial(parseStreamAddress(`ws://${id}@127.0.0.1:${port}`), { timeout: 5000 })).rejects.toMatchObject({ code: 'ERR_DIAL_FAILED' })
  })
})
