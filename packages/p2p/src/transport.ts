/**
 * TCP transport: listens and dials, runs the operator's filters and the full upgrade
 * (SecretConnection + NodeInfo) under their timeouts, and hands out authenticated connections.
 * It knows nothing of peers or reactors; the Switch decides what to do with a connection.
 * Other transports plug in here: their listeners hand accepted streams to acceptStream(), and
 * registered StreamDialers dial their `scheme://` addresses (@switchyard/transport-ws).
 */
import dns from 'node:dns/promises'
import net from 'node:net'
import { EventEmitter } from 'node:events'
import type { Duplex } from 'node:stream'
import createDebug from 'debug'
import { SwitchyardError, type NodeInfo } from '@switchyard/wire'
import type { AeadName } from '@switchyard/conn'
import { DialFailedError, DialTimeoutError, FilteredError, SwitchStoppedError } from './errors.js'
import { InvalidAddressError, NetAddress, normaliseIp } from './net-address.js'
import { isValidNodeId } from './node-key.js'
import type { NodeKey } from './node-key.js'
import { encodeNodeInfoMessage, upgradeToPeer, type PeerConnection } from './upgrade.js'

const log = createDebug('switchyard:p2p:transport')

export interface ConnectionFilters {
  /** Throw (or reject) to refuse a connection from/to this IP; runs before the handshake. */
  ip?: (ip: string) => void | Promise<void>
  /** Throw (or reject) to refuse this peer; runs after the handshake. */
  id?: (id: string, nodeInfo: NodeInfo) => void | Promise<void>
}

export interface TransportOptions {
  nodeKey: NodeKey
  /**
   * Our NodeInfo; read at each handshake so it can change (e.g. the listen port once known). Return
   * a new object when it changes: its encoding is kept while the same object comes back.
   */
  nodeInfo: () => NodeInfo
  handshakeTimeout?: number
  dialTimeout?: number
  filters?: ConnectionFilters
  filterTimeout?: number
  /** Inbound handshakes in progress at once (our own dials not counted); connections beyond are closed at once. */
  maxPendingHandshakes?: number
  /** Inbound handshakes in progress at once from one IP (default 4), so one address cannot take every slot. */
  maxPendingHandshakesPerIp?: number
  /** Resolves a DNS name in a peer's listen_addr (default: a c-ares query); abandoned when the transport closes. */
  resolveHost?: (host: string, signal: AbortSignal) => Promise<unknown>
  aead?: AeadName
  /** Source IP for outgoing connections (default: the OS picks); test networks on 127.x use it. */
  localAddress?: string
}

export interface Connection extends PeerConnection {
  outbound: boolean
  remoteIp: string
  remotePort: number
  /** The address dialed (outbound only). */
  dialed?: NetAddress
  /** The scheme address dialed through a registered StreamDialer (e.g. ws://id@host:port). */
  dialedUrl?: string
}

/**
 * Another transport plugged into this one (WebSocket): opens a byte stream to a `scheme://…`
 * address. The stream then carries the same SecretConnection + MConnection as a TCP socket.
 */
export type StreamDialer = (address: StreamAddress, options: { signal?: AbortSignal, timeout: number, localAddress?: string }) => Promise<DialedStream>

export interface DialedStream { stream: Duplex, remoteIp: string, remotePort: number }

/** `scheme://id@host:port[/path]`; the host may be a DNS name (TLS needs it as written). */
export interface StreamAddress { scheme: string, id: string, host: string, port: number, path: string, address: string }

/** Parses a scheme address for a StreamDialer; throws InvalidAddressError. */
export function parseStreamAddress (address: string): StreamAddress {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^@/]*)@(\[[^\]]+\]|[^:/]+):([0-9]{1,5})(\/[^?#]*)?$/i.exec(address.trim())
  if (m === null) throw new InvalidAddressError(address, 'expected scheme://id@host:port[/path]')
  const [, scheme, id, rawHost, port, path] = m as unknown as [string, string, string, string, string, string | undefined]
  if (!isValidNodeId(id)) throw new InvalidAddressError(address, `node ID ${JSON.stringify(id)} is not 40 hex characters`)
  if (Number(port) > 65535) throw new InvalidAddressError(address, `invalid port ${port}`)
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost
  return { scheme: scheme.toLowerCase(), id: id.toLowerCase(), host, port: Number(port), path: path ?? '', address }
}

/** Why an inbound connection was closed before its handshake began. */
export type HandshakeRefusal = 'full' | 'per-ip'

export interface TransportEvents {
  connection: [Connection]
  /** An inbound connection that failed its filters or handshake. */
  rejected: [{ remote: string, error: SwitchyardError }]
  /** An inbound connection closed at once: every handshake slot, or its IP's share, was taken. */
  refused: [{ remote: string, remoteIp: string, reason: HandshakeRefusal }]
  /** close() was called: plugged-in listeners stop too. */
  close: []
  /** A handshake finished (result "ok") or failed (its error code); seconds from TCP connect. */
  handshake: [{ outbound: boolean, seconds: number, result: string }]
}

/**
 * A DNS lookup that stop() can really end. dns.lookup runs getaddrinfo on libuv's thread pool,
 * where it cannot be cancelled, and process exit waits for it (minutes with a resolver that never
 * answers). c-ares queries (dns.Resolver) are cancelled when `signal` aborts.
 */
async function resolveCancellable (host: string, signal: AbortSignal): Promise<string> {
  const resolver = new dns.Resolver({ timeout: 5000, tries: 2 })
  const cancel = (): void => resolver.cancel()
  signal.addEventListener('abort', cancel, { once: true })
  try {
    try {
      return (await resolver.resolve4(host))[0]!
    } catch (err) {
      if (signal.aborted) throw err
      return (await resolver.resolve6(host))[0]!
    }
  } finally {
    signal.removeEventListener('abort', cancel)
  }
}

/** Settles with `p`, or rejects with the signal's reason as soon as it aborts. */
async function abortable<T> (p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) throw signal.reason
  let onAbort: (() => void) | undefined
  try {
    return await Promise.race([p, new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
    })])
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
  }
}

async function withTimeout<T> (p: Promise<T> | T, ms: number, onTimeout: () => SwitchyardError): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([Promise.resolve(p), new Promise<never>((_r, reject) => { timer = setTimeout(() => reject(onTimeout()), ms) })])
  } finally {
    clearTimeout(timer)
  }
}

export class Transport extends EventEmitter<TransportEvents> {
  private readonly opts: Required<Omit<TransportOptions, 'filters' | 'aead' | 'localAddress' | 'resolveHost'>> & Pick<TransportOptions, 'filters' | 'aead' | 'localAddress' | 'resolveHost'>
  private server: net.Server | undefined
  /** Inbound handshakes in progress, and how many per remote IP (bounded by the slots). */
  private readonly pending = new Set<Duplex>()
  private readonly pendingPerIp = new Map<string, number>()
  /** Our own dials in progress: counted apart, so they never take an inbound slot. */
  private readonly dialing = new Set<Duplex>()
  private readonly dialers = new Map<string, StreamDialer>()
  private readonly closeController = new AbortController()
  private closed = false
  /** The last NodeInfo handed out and its wire encoding (the same object is encoded once). */
  private encodedInfo: { info: NodeInfo, bytes: Uint8Array } | undefined
  /** Inbound connections closed before their handshake, by reason (for metrics). */
  readonly refusals: Record<HandshakeRefusal, number> = { full: 0, 'per-ip': 0 }

  constructor (options: TransportOptions) {
    super()
    this.opts = {
      handshakeTimeout: 20_000,
      dialTimeout: 3000,
      filterTimeout: 5000,
      maxPendingHandshakes: 256,
      maxPendingHandshakesPerIp: 4,
      ...options
    }
    for (const k of ['maxPendingHandshakes', 'maxPendingHandshakesPerIp'] as const) {
      if (!(Number.isSafeInteger(this.opts[k]) && this.opts[k] >= 1)) throw new RangeError(`Transport option ${k} must be an integer >= 1, got ${String(this.opts[k])}`)
    }
  }

  /** Starts listening; resolves with the bound address (port 0 picks a free one). */
  async listen (host: string, port: number): Promise<{ host: string, port: number }> {
    // noDelay here sets TCP_NODELAY on the accepted handle directly (no socket.setNoDelay call each).
    const server = net.createServer({ noDelay: true }, socket => {
      void this.accept(socket, normaliseIp(socket.remoteAddress ?? ''), socket.remotePort ?? 0)
    })
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => { server.off('error', reject); resolve() })
    })
    server.on('error', err => log('listener error: %s', err.message))
    const a = server.address() as net.AddressInfo
    log('listening on %s:%d', a.address, a.port)
    return { host: a.address, port: a.port }
  }

  /** Inbound handshakes in progress. */
  get pendingHandshakes (): number {
    return this.pending.size
  }

  /** Our own dials (TCP connect and handshake) in progress. */
  get pendingDials (): number {
    return this.dialing.size
  }

  /**
   * Takes an inbound byte stream accepted by another listener (WebSocket) through the same
   * filters, limits (every slot and each IP's share) and upgrade as a TCP connection. `verify`
   * runs on the authenticated peer before the ID filter (e.g. the PeerID header must match the
   * key); throw to drop it. Resolves once the connection was handed out or rejected.
   */
  async acceptStream (stream: Duplex, remoteIp: string, remotePort: number, options: { verify?: (peer: PeerConnection) => void } = {}): Promise<void> {
    await this.accept(stream, normaliseIp(remoteIp), remotePort, options.verify)
  }

  private async accept (socket: Duplex, remoteIp: string, remotePort: number, verify?: (peer: PeerConnection) => void): Promise<void> {
    const remote = `${remoteIp}:${remotePort}`
    socket.on('error', () => {})
    if (this.closed) {
      socket.destroy()
      return
    }
    const fromIp = this.pendingPerIp.get(remoteIp) ?? 0
    const refusal: HandshakeRefusal | undefined = this.pending.size >= this.opts.maxPendingHandshakes
      ? 'full'
      : fromIp >= this.opts.maxPendingHandshakesPerIp ? 'per-ip' : undefined
    if (refusal !== undefined) {
      log('refusing %s: %s', remote, refusal === 'full' ? 'every handshake slot is taken' : 'too many handshakes from this IP')
      socket.destroy()
      this.refusals[refusal]++
      this.emit('refused', { remote, remoteIp, reason: refusal })
      return
    }
    this.pending.add(socket)
    this.pendingPerIp.set(remoteIp, fromIp + 1)
    let upgradeStarted: number | undefined
    try {
      await this.runFilter('ip', () => this.opts.filters?.ip?.(remoteIp))
      upgradeStarted = performance.now()
      const peer = await upgradeToPeer(socket, this.upgradeOptions())
      try {
        verify?.(peer)
      } catch (err) {
        peer.conn.destroy()
        throw err
      }
      this.emit('handshake', { outbound: false, seconds: (performance.now() - upgradeStarted) / 1000, result: 'ok' })
      await this.runFilter('id', () => this.opts.filters?.id?.(peer.peerId, peer.peerNodeInfo))
      if (this.closed) throw new SwitchStoppedError()
      this.emit('connection', { ...peer, outbound: false, remoteIp, remotePort })
    } catch (err) {
      socket.destroy()
      const error = err instanceof SwitchyardError ? err : new DialFailedError(remote, err)
      if (upgradeStarted !== undefined && this.listenerCount('handshake') > 0) this.emit('handshake', { outbound: false, seconds: (performance.now() - upgradeStarted) / 1000, result: error.code })
      log('inbound %s rejected: %s', remote, error.message)
      this.emit('rejected', { remote, error })
    } finally {
      if (this.pending.delete(socket)) {
        const n = (this.pendingPerIp.get(remoteIp) ?? 1) - 1
        if (n <= 0) this.pendingPerIp.delete(remoteIp)
        else this.pendingPerIp.set(remoteIp, n)
      }
    }
  }

  private upgradeOptions (): Parameters<typeof upgradeToPeer>[1] {
    const resolve = this.opts.resolveHost
    const signal = this.closeController.signal
    const nodeInfo = this.opts.nodeInfo()
    if (this.encodedInfo?.info !== nodeInfo) this.encodedInfo = { info: nodeInfo, bytes: encodeNodeInfoMessage(nodeInfo) }
    return {
      nodeKey: this.opts.nodeKey,
      nodeInfo,
      nodeInfoMessage: this.encodedInfo.bytes,
      timeout: this.opts.handshakeTimeout,
      // A lookup that never answers must not outlive close(): it is abandoned when the transport closes.
      resolveHost: async host => await abortable(resolve !== undefined ? resolve(host, signal) : resolveCancellable(host, signal), signal),
      ...(this.opts.aead !== undefined ? { aead: this.opts.aead } : {})
    }
  }

  private async runFilter (what: 'ip' | 'id', f: () => void | Promise<void>): Promise<void> {
    // No filter set: no timer, no race (this runs twice per connection).
    if (this.opts.filters?.[what] === undefined) return
    try {
      await withTimeout(f(), this.opts.filterTimeout, () => new FilteredError(`${what} (timed out after ${this.opts.filterTimeout} ms)`))
    } catch (err) {
      throw err instanceof FilteredError ? err : new FilteredError(what, err)
    }
  }

  /** Dials id@ip:port and upgrades; the peer must authenticate as the address's ID. */
  async dial (address: NetAddress, options: { signal?: AbortSignal } = {}): Promise<Connection> {
    if (this.closed) throw new SwitchStoppedError()
    const target = address.toString()
    await this.runFilter('ip', () => this.opts.filters?.ip?.(address.ip))
    const socket = net.connect({ host: address.ip, port: address.port, ...(this.opts.localAddress !== undefined ? { localAddress: this.opts.localAddress } : {}) })
    socket.on('error', () => {})
    this.dialing.add(socket)
    try {
      let onAbort: (() => void) | undefined
      let timer: NodeJS.Timeout | undefined
      try {
        await new Promise<void>((resolve, reject) => {
          timer = setTimeout(() => reject(new DialTimeoutError(target, this.opts.dialTimeout)), this.opts.dialTimeout)
          onAbort = () => reject(new DialFailedError(target, options.signal?.reason ?? new Error('aborted')))
          if (options.signal?.aborted === true) onAbort()
          options.signal?.addEventListener('abort', onAbort, { once: true })
          socket.once('connect', () => resolve())
          socket.once('error', err => reject(new DialFailedError(target, err)))
        })
      } finally {
        // Always let go of the caller's signal: a long-lived one must not collect listeners.
        clearTimeout(timer)
        if (onAbort !== undefined) options.signal?.removeEventListener('abort', onAbort)
      }
      socket.setNoDelay(true)
      const peer = await this.upgradeOutbound(socket, address.id, options.signal)
      return { ...peer, outbound: true, remoteIp: address.ip, remotePort: address.port, dialed: address }
    } catch (err) {
      socket.destroy()
      throw err
    } finally {
      this.dialing.delete(socket)
    }
  }

  /** Our side of an upgrade on a stream we opened: the handshake metric, then the ID filter. */
  private async upgradeOutbound (stream: Duplex, expectedPeerId: string, signal: AbortSignal | undefined): Promise<PeerConnection> {
    const started = performance.now()
    const report = (result: string): void => { this.emit('handshake', { outbound: true, seconds: (performance.now() - started) / 1000, result }) }
    const peer = await upgradeToPeer(stream, {
      ...this.upgradeOptions(),
      expectedPeerId,
      ...(signal !== undefined ? { signal } : {})
    }).catch((err: unknown) => {
      report(err instanceof SwitchyardError ? err.code : 'ERR_HANDSHAKE_FAILED')
      throw err
    })
    report('ok')
    await this.runFilter('id', () => this.opts.filters?.id?.(peer.peerId, peer.peerNodeInfo))
    return peer
  }

  /** Dials `scheme://…` addresses (ws, wss) with `dialer`. */
  registerDialer (scheme: string, dialer: StreamDialer): void {
    this.dialers.set(scheme.toLowerCase(), dialer)
  }

  /** True when `address` has a scheme a registered StreamDialer handles. */
  dialsScheme (address: string): boolean {
    const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(address.trim())
    return m !== null && this.dialers.has(m[1]!.toLowerCase())
  }

  /** Dials a scheme address through its StreamDialer and upgrades; the peer must authenticate as its ID. */
  async dialStream (address: string, options: { signal?: AbortSignal } = {}): Promise<Connection> {
    if (this.closed) throw new SwitchStoppedError()
    const target = parseStreamAddress(address)
    const dialer = this.dialers.get(target.scheme)
    if (dialer === undefined) throw new InvalidAddressError(address, `no dialer for ${target.scheme}://`)
    const dialed = await dialer(target, {
      timeout: this.opts.dialTimeout,
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      ...(this.opts.localAddress !== undefined ? { localAddress: this.opts.localAddress } : {})
    })
    const { stream } = dialed
    stream.on('error', () => {})
    this.dialing.add(stream)
    try {
      if (this.closed) throw new SwitchStoppedError()
      // The IP is known only once connected (the address may name a host, e.g. for TLS).
      const remoteIp = normaliseIp(dialed.remoteIp)
      await this.runFilter('ip', () => this.opts.filters?.ip?.(remoteIp))
      const peer = await this.upgradeOutbound(stream, target.id, options.signal)
      return { ...peer, outbound: true, remoteIp, remotePort: dialed.remotePort, dialedUrl: address }
    } catch (err) {
      stream.destroy()
      throw err
    } finally {
      this.dialing.delete(stream)
    }
  }

  /** Stops listening and drops every handshake in progress. */
  async close (): Promise<void> {
    if (!this.closed) this.emit('close')
    this.closed = true
    this.closeController.abort(new SwitchStoppedError())
    for (const s of this.pending) s.destroy()
    for (const s of this.dialing) s.destroy()
    this.pending.clear()
    this.pendingPerIp.clear()
    this.dialing.clear()
    // Stop listening without waiting for close()'s callback: it only fires once every accepted
    // connection has ended, and those belong to peers the Switch stops after this.
    this.server?.close()
  }
}
