/**
 * The Switch: the wiring of the p2p layer. The Transport listens, dials and authenticates;
 * decideAdmission (admission.ts) accepts or refuses each connection; the Router (router.ts) owns
 * the reactors, their channels and message delivery; the Dialer (dialer.ts) runs background dials
 * and the reconnect schedule. What is left here is the peer lifecycle (initPeer → connection
 * start → addPeer; stop → removePeer with the reason) and the public API.
 */
import { EventEmitter } from 'node:events'
import createDebug from 'debug'
import { AbortError } from '@switchyard/conn'
import { SwitchyardError, type NodeInfo } from '@switchyard/wire'
import type { Channel } from './channel.js'
import { DialFailedError, DuplicatePeerError, PeerStoppedError, SelfConnectionError, SwitchStoppedError } from './errors.js'
import { Dialer, idOf } from './dialer.js'
import { MessageByteCounters, messageTypeOf } from './message-bytes.js'
import { messageStream } from './message-stream.js'
import { type NetAddress, resolveNetAddress } from './net-address.js'
import { makeNodeInfo } from './node-info.js'
import type { NodeKey } from './node-key.js'
import type { Peer } from './peer.js'
import { PeerSet } from './peer-set.js'
import type { Envelope, Reactor } from './reactor.js'
import { DEFAULT_RECONNECT } from './reconnect.js'
import { Router } from './router.js'
import { stripScheme, splitHostPort } from './host-port.js'
import { Transport } from './transport.js'
import type { SwitchEvents, SwitchOptions } from './switch-options.js'

const log = createDebug('switchyard:p2p:switch')

export type { AddressBookHook, SwitchEvents, SwitchOptions } from './switch-options.js'

export class Switch extends EventEmitter<SwitchEvents> {
  readonly nodeKey: NodeKey
  readonly transport: Transport
  readonly privatePeerIds: ReadonlySet<string>
  private readonly opts: SwitchOptions
  /** Message bytes by type, both ways (CometBFT's message_*_bytes_total). */
  readonly messageBytes = new MessageByteCounters()
  private readonly router = new Router(this.messageBytes)
  private readonly dialer: Dialer
  private readonly peerSet: PeerSet
  private readonly peerMap: Map<string, Peer>
  private readonly dialing = new Set<string>()
  private readonly persistent = new Map<string, string>()
  private readonly stopController = new AbortController()
  private info: NodeInfo | undefined
  private listenAddr: string
  private state: 'new' | 'started' | 'stopping' | 'stopped' = 'new'

  constructor (options: SwitchOptions) {
    super()
    for (const k of ['maxInboundPeers', 'maxOutboundPeers', 'handshakeTimeout', 'dialTimeout', 'filterTimeout', 'dialJitter', 'maxInboundQueue'] as const) {
      const v = options[k]
      if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new RangeError(`Switch option ${k} must be a number >= 0, got ${String(v)}`)
    }
    this.opts = options
    this.nodeKey = options.nodeKey
    this.listenAddr = options.externalAddress ?? options.listenAddress ?? 'tcp://127.0.0.1:0'
    this.privatePeerIds = new Set(options.privatePeerIds ?? [])
    for (const a of options.persistentPeers ?? []) this.persistent.set(idOf(a), a)
    const policy = {
      ourId: options.nodeKey.id,
      maxInboundPeers: this.maxInboundPeers,
      maxOutboundPeers: this.maxOutboundPeers,
      allowDuplicateIp: options.allowDuplicateIp === true,
      unconditional: new Set(options.unconditionalPeerIds ?? []),
      persistent: this.persistent,
      simultaneousConnectWindow: options.simultaneousConnectWindow ?? 2000
    }
    this.peerSet = new PeerSet({
      router: this.router,
      policy,
      ...defined({ connection: options.connection }),
      maxInboundQueue: options.maxInboundQueue ?? 64,
      isRunning: () => this.state === 'started',
      onAdded: (peer, conn) => { if (conn.dialed !== undefined) this.opts.addressBook?.markGood?.(conn.dialed); this.emit('peer:add', peer) },
      onRemoved: (peer, reason, announced) => {
        // A peer whose addPeer failed was never announced: it is a connection that did not become a peer.
        if (announced) this.emit('peer:remove', peer, reason)
        else this.rejected(`${peer.id}@${peer.remoteIp}:${peer.remotePort}`, peer.outbound, reason ?? new PeerStoppedError('stopped'))
        const target = this.persistent.get(peer.id) ?? peer.dialedAddress?.toString()
        if (peer.persistent && this.state === 'started' && target !== undefined) this.dialer.reconnect(peer.id, target)
      },
      onRefused: (address, outbound, error) => { this.rejected(address, outbound, error) }
    })
    this.peerMap = this.peerSet.byId // the same Map: `peers` is a live view
    this.dialer = new Dialer({
      dial: async (address, o) => await this.dial(address, o),
      isConnected: id => this.peerMap.has(id),
      // dial() already reported its own failures as 'peer:rejected'; only the never-dialed are left.
      onFailure: (address, err) => { if ((err as SwitchyardError).code === 'ERR_DIAL_QUEUE_FULL') this.rejected(address, true, err as SwitchyardError) },
      reconnect: { ...DEFAULT_RECONNECT, ...options.reconnect },
      jitter: options.dialJitter ?? 3000,
      ...defined({ maxQueued: options.maxDialQueue })
    })
    this.transport = new Transport({
      nodeKey: options.nodeKey,
      nodeInfo: () => this.nodeInfo,
      ...(options.handshakeTimeout !== undefined ? { handshakeTimeout: options.handshakeTimeout } : {}),
      ...(options.dialTimeout !== undefined ? { dialTimeout: options.dialTimeout } : {}),
      ...(options.filters !== undefined ? { filters: options.filters } : {}),
      ...(options.filterTimeout !== undefined ? { filterTimeout: options.filterTimeout } : {}),
      ...(options.dialFromAddress !== undefined ? { localAddress: options.dialFromAddress } : {}),
      ...(options.maxPendingHandshakes !== undefined ? { maxPendingHandshakes: options.maxPendingHandshakes } : {}),
      ...(options.maxPendingHandshakesPerIp !== undefined ? { maxPendingHandshakesPerIp: options.maxPendingHandshakesPerIp } : {}),
      ...(options.resolveHost !== undefined ? { resolveHost: options.resolveHost } : {})
    })
    this.transport.on('connection', conn => { this.peerSet.admit(conn, false, false) }) // refusals are reported as events
    this.transport.on('rejected', ({ remote, error }) => { this.rejected(remote, false, error) })
    this.transport.on('refused', r => { this.emit('handshake:refused', r) })
  }

  /** Registers a reactor. Its channel ids must be free; only before start(). */
  addReactor (name: string, reactor: Reactor): void {
    if (this.state !== 'new') throw new Error('addReactor must be called before start()')
    this.router.add(name, reactor)
    reactor.switch = this
  }

  getReactor<R extends Reactor> (name: string): R | undefined {
    return this.router.get(name) as R | undefined
  }

  /** Our NodeInfo: its channels are the union of the reactors' channels, in registration order. */
  get nodeInfo (): NodeInfo {
    this.info ??= makeNodeInfo({
      nodeId: this.nodeKey.id,
      network: this.opts.network,
      listenAddr: this.listenAddr,
      moniker: this.opts.moniker ?? 'switchyard',
      channels: this.router.channelIds,
      ...(this.opts.version !== undefined ? { version: this.opts.version } : {}),
      ...(this.opts.protocolVersion !== undefined ? { protocolVersion: this.opts.protocolVersion } : {})
    })
    return this.info
  }

  /** id@host:port others should dial (the external address, or the bound listen address). */
  get address (): string {
    const hp = splitHostPort(stripScheme(this.listenAddr))
    return `${this.nodeKey.id}@${typeof hp === 'string' ? stripScheme(this.listenAddr) : `${hp.host.includes(':') ? `[${hp.host}]` : hp.host}:${hp.port}`}`
  }

  get peers (): ReadonlyMap<string, Peer> {
    return this.peerMap
  }

  get isRunning (): boolean {
    return this.state === 'started'
  }

  numPeers (): { outbound: number, inbound: number, dialing: number } {
    let outbound = 0
    for (const p of this.peerMap.values()) if (p.outbound) outbound++
    return { outbound, inbound: this.peerMap.size - outbound, dialing: this.dialing.size }
  }

  /** Background dials waiting in the dial queue, and running. */
  get dialQueue (): { queued: number, running: number } {
    return { queued: this.dialer.queued, running: this.dialer.running }
  }

  get maxOutboundPeers (): number {
    return this.opts.maxOutboundPeers ?? 10
  }

  get maxInboundPeers (): number {
    return this.opts.maxInboundPeers ?? 40
  }

  isPersistent (id: string): boolean {
    return this.persistent.has(id)
  }

  isDialingOrConnected (id: string): boolean {
    return this.peerMap.has(id) || this.dialing.has(id)
  }

  /** Listens (if a listen address is set), starts the reactors and dials the persistent peers. */
  async start (): Promise<void> {
    if (this.state !== 'new') throw new Error(`cannot start a switch that is ${this.state}`)
    this.state = 'started'
    if (this.opts.listenAddress !== undefined) {
      const hp = splitHostPort(stripScheme(this.opts.listenAddress))
      if (typeof hp === 'string') throw new RangeError(`Switch option listenAddress: ${hp}`)
      const bound = await this.transport.listen(hp.host, hp.port)
      if (this.opts.externalAddress === undefined) {
        this.listenAddr = `tcp://${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}`
        this.info = undefined
      }
    }
    for (const r of this.router.all) await r.start?.()
    if (this.persistent.size > 0) this.dialPeersAsync([...this.persistent.values()], { persistent: true })
    log('started %s (%d reactors, channels %o)', this.address, this.router.size, this.router.channelIds)
  }

  /** Stops accepting and dialing, stops the reactors, and stops every peer gracefully (flushing what is queued). */
  async stop (options: { timeout?: number } = {}): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return
    this.state = 'stopping'
    this.stopController.abort()
    this.router.endSubscribers()
    this.dialer.stop()
    await this.transport.close()
    for (const r of this.router.all) await r.stop?.()
    await Promise.all([...this.peerMap.values()].map(async p => { await p.disconnectGracefully({ timeout: options.timeout ?? 2000 }) }))
    this.state = 'stopped'
    log('stopped')
  }

  /** Dials `address` (id@host:port) and resolves with the new peer; rejects with a typed error. */
  async dial (address: string | NetAddress, options: { persistent?: boolean, signal?: AbortSignal, exemptFromLimits?: boolean } = {}): Promise<Peer> {
    if (this.state !== 'started') throw new SwitchStoppedError()
    if (options.signal?.aborted === true) throw new AbortError('dial aborted before it started', { cause: options.signal.reason })
    const addr = typeof address === 'string'
      ? await resolveNetAddress(address, { signal: this.stopController.signal, ...(this.opts.resolveHost !== undefined ? { resolve: this.opts.resolveHost } : {}) })
      : address
    if (addr.id === this.nodeKey.id) throw new SelfConnectionError(addr.id)
    if (this.peerMap.has(addr.id) || this.dialing.has(addr.id)) throw new DuplicatePeerError(addr.id)
    this.dialing.add(addr.id)
    let reported = false
    try {
      // No AbortSignal.any with the long-lived stop signal: each call would leave a listener on it.
      // stop() closes the transport, which aborts every dial in flight anyway.
      const conn = await this.transport.dial(addr, { signal: options.signal ?? this.stopController.signal })
      const admitted = this.peerSet.admit(conn, options.persistent === true, options.exemptFromLimits === true)
      // A refusal was already reported as 'peer:rejected' by admit().
      if (admitted instanceof SwitchyardError) { reported = true; throw admitted }
      return admitted
    } catch (err) {
      const error = err instanceof SwitchyardError ? err : new DialFailedError(addr.toString(), err)
      if (error.code === 'ERR_SELF_CONNECTION') {
        this.opts.addressBook?.removeAddress?.(addr)
        this.opts.addressBook?.addOurAddress?.(addr)
      }
      if (!reported) this.rejected(addr.toString(), true, error)
      throw error
    } finally {
      this.dialing.delete(addr.id)
    }
  }

  /**
   * Dials each address after a random delay (up to dialJitter), without waiting; failures are
   * 'peer:rejected' events. Beyond maxDialQueue waiting dials, addresses are refused (ERR_DIAL_QUEUE_FULL).
   */
  dialPeersAsync (addresses: string[], options: { persistent?: boolean } = {}): void {
    if (this.state !== 'started') return
    this.dialer.enqueue(addresses, options)
  }

  /** Sends to every peer at once; resolves with each peer's result (false = not queued). */
  async broadcast<T> (ch: Channel<T>, message: T): Promise<Map<string, boolean>> {
    const bytes = ch.codec.encode(message)
    const peers = [...this.peerMap.values()]
    const results = await Promise.all(peers.map(async p => p.hasChannel(ch.id) ? await p.sendBytes(ch.id, bytes) : false))
    const sent = results.filter(Boolean).length
    if (sent > 0) this.messageBytes.add('sent', messageTypeOf(ch, message), bytes.length * sent)
    return new Map(peers.map((p, i) => [p.id, results[i]!]))
  }

  /** Disconnects a peer at once because of `error`; a persistent peer is redialed. */
  stopPeerForError (peer: Peer, error: SwitchyardError | string): void {
    this.peerSet.stop(peer, typeof error === 'string' ? new PeerStoppedError(error) : error)
  }

  /** Flushes what is queued to the peer, then disconnects; its reactors see an undefined reason. */
  async stopPeerGracefully (peer: Peer): Promise<void> {
    await peer.disconnectGracefully()
  }

  /**
   * Every message on `ch` as an async iterator (after the owning reactor saw it). At most
   * `bufferSize` messages wait for the consumer; beyond that the sending peer is paused. No
   * listener is added to any long-lived signal; ending the loop (return, `signal`, stop()) removes
   * the one on `signal`.
   */
  messages<T> (ch: Channel<T>, options: { signal?: AbortSignal, bufferSize?: number } = {}): AsyncIterableIterator<Envelope<T>> {
    return messageStream(ch, options, s => this.state === 'stopping' || this.state === 'stopped' ? undefined : this.router.subscribe(s))
  }

  private rejected (address: string, outbound: boolean, error: SwitchyardError): void {
    this.emit('peer:rejected', { address, outbound, error })
  }
}

/** The entries whose value is set (exactOptionalPropertyTypes: pass on only what the caller gave). */
function defined<T extends Record<string, unknown>> (o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> }
}
