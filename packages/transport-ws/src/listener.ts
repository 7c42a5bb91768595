/**
 * The WebSocket listener: an HTTP(S) server with two routes.
 *   GET /ping → 200 when the Switch is started and below its inbound peer limit, else 503.
 *   GET /ws   → upgrades to a WebSocket only when the PeerID header names a valid node ID that the
 *               allow-list admits (else 403 and no upgrade). The stream then goes through the
 *               Switch's Transport like a TCP connection, and after the handshake the
 *               authenticated ID must equal the header, else the peer is dropped (ERR_PEER_ID_MISMATCH).
 * Bounds: upgrades in progress per IP and in total (429 / 503), HTTP header and request timeouts,
 * WebSocket message size, and bufferedAmount back-pressure in every stream.
 */
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import type { Duplex } from 'node:stream'
import { EventEmitter } from 'node:events'
import createDebug from 'debug'
import { WebSocketServer } from 'ws'
import { PeerIdMismatchError, isValidNodeId, normaliseIp, type Switch } from '@switchyard/p2p'
import { replyAndClose } from './http-reply.js'
import { streamFromWs, type StreamLimits } from './node-socket.js'

const log = createDebug('switchyard:transport-ws:listener')

export interface WsListenerOptions {
  host: string
  port: number
  /** Serve wss:// with this certificate and key (PEM). */
  tls?: { cert: string | Buffer, key: string | Buffer }
  /** Which PeerIDs may upgrade; undefined admits any valid node ID (the handshake still proves it). */
  allow?: (peerId: string) => boolean
  /** Upgrades (HTTP upgrade + handshake) in progress from one IP (default 4). */
  maxPendingUpgradesPerIp?: number
  /** Upgrades in progress from all IPs together (default 64). */
  maxPendingUpgrades?: number
  /** Milliseconds to receive a request's headers (default 10,000). */
  headersTimeout?: number
  /**
   * Open TCP connections to the listener, upgraded peers included; more are dropped at once
   * (default: the Switch's maxInboundPeers + maxPendingUpgrades + 64 for /ping).
   */
  maxConnections?: number
}

export interface WsRefusal { remoteIp: string, status: number, reason: string }

export interface WsListenerEvents {
  /** An HTTP request on /ws that was answered without an upgrade. */
  refused: [WsRefusal]
}

export class WsListener extends EventEmitter<WsListenerEvents> {
  private readonly sw: Switch
  private readonly opts: WsListenerOptions
  private readonly limits: Required<StreamLimits>
  private readonly server: http.Server
  private readonly wss: WebSocketServer
  private readonly pendingByIp = new Map<string, number>()
  private pendingTotal = 0
  private upgrades = 0
  private readonly refusals = new Map<number, number>()
  private listening = false
  private bound: { host: string, port: number } | undefined

  constructor (sw: Switch, options: WsListenerOptions, limits: Required<StreamLimits>) {
    super()
    for (const k of ['maxPendingUpgradesPerIp', 'maxPendingUpgrades', 'headersTimeout', 'maxConnections'] as const) {
      const v = options[k]
      if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new RangeError(`WebSocket listener option ${k} must be an integer > 0, got ${String(v)}`)
    }
    this.sw = sw
    this.opts = options
    this.limits = limits
    const headersTimeout = options.headersTimeout ?? 10_000
    // Node checks the header and request timeouts on this period (default 30 s): keep it short.
    const timeouts = { headersTimeout, requestTimeout: headersTimeout, keepAliveTimeout: 5000, maxHeaderSize: 8192, connectionsCheckingInterval: Math.min(1000, headersTimeout) }
    this.server = options.tls !== undefined
      ? https.createServer({ ...timeouts, cert: options.tls.cert, key: options.tls.key })
      : http.createServer(timeouts)
    this.server.on('request', (req, res) => { this.onRequest(req, res) })
    this.server.on('upgrade', (req, socket, head) => { this.onUpgrade(req, socket, head) })
    this.server.on('clientError', (_err, socket) => { socket.destroy() })
    this.server.maxConnections = options.maxConnections ?? sw.maxInboundPeers + (options.maxPendingUpgrades ?? 64) + 64
    this.wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxMessageSize, perMessageDeflate: false, clientTracking: false })
  }

  /** ws:// or wss:// */
  get scheme (): 'ws' | 'wss' {
    return this.opts.tls !== undefined ? 'wss' : 'ws'
  }

  /** Where we listen, as a dialable address (scheme://id@host:port), once listening. */
  get address (): string | undefined {
    if (this.bound === undefined) return undefined
    const host = net.isIPv6(this.bound.host) ? `[${this.bound.host}]` : this.bound.host
    return `${this.scheme}://${this.sw.nodeKey.id}@${host}:${this.bound.port}`
  }

  /** Ready for a new peer: the Switch runs, we listen, and the inbound limit is not reached. */
  get ready (): boolean {
    return this.listening && this.sw.isRunning && this.sw.numPeers().inbound < this.sw.maxInboundPeers
  }

  get pendingUpgrades (): number {
    return this.pendingTotal
  }

  /** Counters for metrics: upgrades handed to the Transport, and refusals by HTTP status. */
  get stats (): { upgrades: number, pendingUpgrades: number, refused: Record<number, number> } {
    return { upgrades: this.upgrades, pendingUpgrades: this.pendingTotal, refused: Object.fromEntries(this.refusals) }
  }

  async listen (): Promise<{ host: string, port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(this.opts.port, this.opts.host, () => { this.server.off('error', reject); resolve() })
    })
    this.server.on('error', err => log('listener error: %s', err.message))
    this.listening = true
    const a = this.server.address() as net.AddressInfo
    this.bound = { host: a.address, port: a.port }
    log('listening on %s', this.address)
    return this.bound
  }

  async close (): Promise<void> {
    if (!this.listening) return
    this.listening = false
    this.server.close()
    this.server.closeIdleConnections()
  }

  private onRequest (req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '').split('?')[0]
    const send = (status: number, body: string): void => {
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' })
      res.end(`${body}\n`)
    }
    if (path === '/ping' && (req.method === 'GET' || req.method === 'HEAD')) {
      const ready = this.ready
      send(ready ? 200 : 503, ready ? 'ready' : this.sw.isRunning ? 'inbound peer limit reached' : 'not started')
      return
    }
    if (path === '/ws') {
      // A plain GET: the same PeerID check as an upgrade, then "use an upgrade".
      const refusal = this.checkPeerId(req)
      if (refusal !== undefined) { this.refused(req, refusal.status, refusal.reason); send(refusal.status, refusal.reason); return }
      send(426, 'upgrade to a WebSocket')
      return
    }
    send(404, 'not found')
  }

  private checkPeerId (req: http.IncomingMessage): { status: number, reason: string } | undefined {
    const header = req.headers.peerid
    if (typeof header !== 'string' || header === '') return { status: 403, reason: 'the PeerID header is missing' }
    const id = header.trim().toLowerCase()
    if (!isValidNodeId(id)) return { status: 403, reason: 'the PeerID header is not a node ID (40 hex characters)' }
    if (this.opts.allow !== undefined && !this.opts.allow(id)) return { status: 403, reason: 'unknown PeerID' }
    return undefined
  }

  private refused (req: http.IncomingMessage, status: number, reason: string): void {
    const remoteIp = normaliseIp(req.socket.remoteAddress ?? '')
    log('refused %s: %d %s', remoteIp, status, reason)
    // Keyed by status, so the map holds a handful of entries at most.
    this.refusals.set(status, (this.refusals.get(status) ?? 0) + 1)
    this.emit('refused', { remoteIp, status, reason })
  }

  private onUpgrade (req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {})
    const refuse = (status: number, reason: string): void => {
      this.refused(req, status, reason)
      replyAndClose(socket, status, reason)
    }
    const path = (req.url ?? '').split('?')[0]
    if (path !== '/ws') { refuse(404, 'not found'); return }
    const refusal = this.checkPeerId(req)
    if (refusal !== undefined) { refuse(refusal.status, refusal.reason); return }
    if (!this.listening || !this.sw.isRunning) { refuse(503, 'not started'); return }
    const remoteIp = normaliseIp(req.socket.remoteAddress ?? '')
    const remotePort = req.socket.remotePort ?? 0
    const fromIp = this.pendingByIp.get(remoteIp) ?? 0
    if (fromIp >= (this.opts.maxPendingUpgradesPerIp ?? 4)) { refuse(429, 'too many upgrades in progress from this IP'); return }
    if (this.pendingTotal >= (this.opts.maxPendingUpgrades ?? 64)) { refuse(503, 'too many upgrades in progress'); return }
    const claimedId = (req.headers.peerid as string).trim().toLowerCase()

    // One slot per upgrade, held from here until the Transport has accepted or rejected the stream
    // (or the socket closed before the WebSocket opened). The map never holds an IP with zero.
    this.pendingByIp.set(remoteIp, fromIp + 1)
    this.pendingTotal++
    let held = true
    const release = (): void => {
      if (!held) return
      held = false
      this.pendingTotal--
      const n = (this.pendingByIp.get(remoteIp) ?? 1) - 1
      if (n <= 0) this.pendingByIp.delete(remoteIp)
      else this.pendingByIp.set(remoteIp, n)
    }
    socket.once('close', release)
    this.wss.handleUpgrade(req, socket, head, ws => {
      this.upgrades++
      const stream = streamFromWs(ws, this.limits)
      void this.sw.transport.acceptStream(stream, remoteIp, remotePort, {
        verify: peer => {
          if (peer.peerId !== claimedId) throw new PeerIdMismatchError('PeerID header', claimedId, peer.peerId)
        }
      }).finally(release)
    })
  }
}
