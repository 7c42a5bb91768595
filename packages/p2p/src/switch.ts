/**
 * The Switch: owns the reactors and the peers. It listens and dials through the Transport, admits
 * or refuses each authenticated connection (limits, duplicates, IP rules), runs the peer lifecycle
 * (initPeer → connection start → addPeer; stop → removePeer with the reason), routes every message
 * to the reactor that owns its channel, and redials persistent peers.
 */
import { EventEmitter } from 'node:events'
import createDebug from 'debug'
import PQueue from 'p-queue'
import { AbortError, MConnection, type MConnectionOptions } from '@switchyard/conn'
import { MalformedMessageError, SwitchyardError, type NodeInfo } from '@switchyard/wire'
import type { Channel } from './channel.js'
import {
  ChannelTakenError, DialFailedError, DuplicateIpError, DuplicatePeerError, PeerStoppedError, SelfConnectionError, SwitchStoppedError,
  TooManyPeersError
} from './errors.js'
import { InboundQueue } from './inbound-queue.js'
import { MessageByteCounters, messageTypeOf } from './message-bytes.js'
import { NetAddress, resolveNetAddress } from './net-address.js'
import { makeNodeInfo, type NodeInfoOptions } from './node-info.js'
import type { NodeKey } from './node-key.js'
import { Peer } from './peer.js'
import type { Envelope, Reactor, RemoveReason } from './reactor.js'
import { DEFAULT_RECONNECT, reconnectDelays, type ReconnectPolicy } from './reconnect.js'
import { stripScheme, splitHostPort } from './host-port.js'
import { Transport, type Connection, type ConnectionFilters } from './transport.js'

const log = createDebug('switchyard:p2p:switch')
const logError = createDebug('switchyard:p2p:switch:error')

/**
 * What the Switch tells an address book (PEX plugs its AddrBook in here): markGood after a
 * successful outbound connection; addOurAddress and removeAddress when a dial reaches ourselves.
 * markAttempt and markBad are for reactors (PEX) that dial and punish.
 */
export interface AddressBookHook {
  markGood?: (address: NetAddress) => void
  markAttempt?: (address: NetAddress) => void
  markBad?: (address: NetAddress, banMs: number) => void
  addOurAddress?: (address: NetAddress) => void
  removeAddress?: (address: NetAddress) => void
}

export interface SwitchOptions {
  nodeKey: NodeKey
  /** Chain id. */
  network: string
  moniker?: string
  /** Where to listen, e.g. tcp://0.0.0.0:26656; omit to only dial. Port 0 picks a free port. */
  listenAddress?: string
  /** The address to advertise in NodeInfo instead of the listen address. */
  externalAddress?: string
  version?: string
  protocolVersion?: NodeInfoOptions['protocolVersion']
  maxInboundPeers?: number
  maxOutboundPeers?: number
  /** id@host:port entries always kept connected. */
  persistentPeers?: string[]
  /** IDs exempt from the peer limits. */
  unconditionalPeerIds?: string[]
  /** IDs never gossiped by PEX (the Switch only records them). */
  privatePeerIds?: string[]
  allowDuplicateIp?: boolean
  handshakeTimeout?: number
  dialTimeout?: number
  /** Source IP for outgoing connections (default: the OS picks). */
  dialFromAddress?: string
  filters?: ConnectionFilters
  filterTimeout?: number
  /** Inbound handshakes in progress at once; more connections are closed at once (default 256). */
  maxPendingHandshakes?: number
  /** MConnection tuning for every peer (rates, ping, flush throttle, …). */
  connection?: Omit<MConnectionOptions, 'channels'>
  reconnect?: Partial<ReconnectPolicy>
  /** dialPeersAsync spreads dials by a random delay up to this many ms (CometBFT: 3000). */
  dialJitter?: number
  /** Messages waiting for a peer's async reactors before we stop reading from it. */
  maxInboundQueue?: number
  /**
   * For this long after a peer connects (ms, default 2000), a second connection with it is taken
   * as a simultaneous dial: both sides keep the one dialed by the lower node ID. Later duplicates
   * are refused.
   */
  simultaneousConnectWindow?: number
  addressBook?: AddressBookHook
}

export interface SwitchEvents {
  'peer:add': [Peer]
  'peer:remove': [Peer, RemoveReason]
  /** A connection (inbound or a dial) that did not become a peer, and why. */
  'peer:rejected': [{ address: string, outbound: boolean, error: SwitchyardError }]
}

interface Subscriber { channelId: number, push: (env: Envelope<any>) => void | Promise<void> }

export class Switch extends EventEmitter<SwitchEvents> {
  readonly nodeKey: NodeKey
  readonly transport: Transport
  private readonly opts: SwitchOptions
  private readonly reactors = new Map<string, Reactor>()
  private readonly byChannel = new Map<number, { name: string, reactor: Reactor, channel: Channel<any> }>()
  private readonly peerMap = new Map<string, Peer>()
  private readonly inbound = new Map<Peer, InboundQueue>()
  private readonly addedAt = new WeakMap<Peer, number>()
  private readonly dialing = new Set<string>()
  private readonly reconnecting = new Map<string, AbortController>()
  private readonly persistent = new Map<string, string>()
  private readonly unconditional: Set<string>
  readonly privatePeerIds: ReadonlySet<string>
  private readonly subscribers = new Set<Subscriber>()
  /** Message bytes by type, both ways (CometBFT's message_*_bytes_total). */
  readonly messageBytes = new MessageByteCounters()
  private readonly dialQueue = new PQueue({ concurrency: 16 })
  private readonly stopController = new AbortController()
  private reconnectPolicy: ReconnectPolicy
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
    this.unconditional = new Set(options.unconditionalPeerIds ?? [])
    this.privatePeerIds = new Set(options.privatePeerIds ?? [])
    this.reconnectPolicy = { ...DEFAULT_RECONNECT, ...options.reconnect }
    for (const a of options.persistentPeers ?? []) {
      const id = stripScheme(a).split('@')[0] ?? ''
      this.persistent.set(id, a)
    }
    this.transport = new Transport({
      nodeKey: options.nodeKey,
      nodeInfo: () => this.nodeInfo,
      ...(options.handshakeTimeout !== undefined ? { handshakeTimeout: options.handshakeTimeout } : {}),
      ...(options.dialTimeout !== undefined ? { dialTimeout: options.dialTimeout } : {}),
      ...(options.filters !== undefined ? { filters: options.filters } : {}),
      ...(options.filterTimeout !== undefined ? { filterTimeout: options.filterTimeout } : {}),
      ...(options.dialFromAddress !== undefined ? { localAddress: options.dialFromAddress } : {}),
      ...(options.maxPendingHandshakes !== undefined ? { maxPendingHandshakes: options.maxPendingHandshakes } : {})
    })
    this.transport.on('connection', conn => { this.admit(conn) }) // refusals are reported as events
    this.transport.on('rejected', ({ remote, error }) => { this.rejected(remote, false, error) })
  }

  /** Registers a reactor. Its channel ids must be free; only before start(). */
  addReactor (name: string, reactor: Reactor): void {
    if (this.state !== 'new') throw new Error('addReactor must be called before start()')
    if (this.reactors.has(name)) throw new Error(`a reactor named ${JSON.stringify(name)} is already added`)
    for (const ch of reactor.channels) {
      const owner = this.byChannel.get(ch.id)
      if (owner !== undefined) throw new ChannelTakenError(ch.id, owner.name, name)
    }
    for (const ch of reactor.channels) this.byChannel.set(ch.id, { name, reactor, channel: ch })
    reactor.switch = this
    this.reactors.set(name, reactor)
  }

  getReactor<R extends Reactor> (name: string): R | undefined {
    return this.reactors.get(name) as R | undefined
  }

  /** Our NodeInfo: its channels are the union of the reactors' channels, in registration order. */
  get nodeInfo (): NodeInfo {
    this.info ??= makeNodeInfo({
      nodeId: this.nodeKey.id,
      network: this.opts.network,
      listenAddr: this.listenAddr,
      moniker: this.opts.moniker ?? 'switchyard',
      channels: [...this.byChannel.keys()],
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
    for (const r of this.reactors.values()) await r.start?.()
    if (this.persistent.size > 0) this.dialPeersAsync([...this.persistent.values()], { persistent: true })
    log('started %s (%d reactors, channels %o)', this.address, this.reactors.size, [...this.byChannel.keys()])
  }

  /** Stops accepting and dialing, stops the reactors, and stops every peer gracefully (flushing what is queued). */
  async stop (options: { timeout?: number } = {}): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return
    this.state = 'stopping'
    this.stopController.abort()
    for (const c of this.reconnecting.values()) c.abort()
    this.dialQueue.clear()
    await this.transport.close()
    for (const r of this.reactors.values()) await r.stop?.()
    await Promise.all([...this.peerMap.values()].map(async p => { await p.mconn.stop({ timeout: options.timeout ?? 2000 }) }))
    this.state = 'stopped'
    log('stopped')
  }

  /** Dials `address` (id@host:port) and resolves with the new peer; rejects with a typed error. */
  async dial (address: string | NetAddress, options: { persistent?: boolean, signal?: AbortSignal, exemptFromLimits?: boolean } = {}): Promise<Peer> {
    if (this.state !== 'started') throw new SwitchStoppedError()
    if (options.signal?.aborted === true) throw new AbortError('dial aborted before it started', { cause: options.signal.reason })
    const addr = typeof address === 'string' ? await resolveNetAddress(address) : address
    if (addr.id === this.nodeKey.id) throw new SelfConnectionError(addr.id)
    if (this.peerMap.has(addr.id) || this.dialing.has(addr.id)) throw new DuplicatePeerError(addr.id)
    this.dialing.add(addr.id)
    let reported = false
    try {
      // No AbortSignal.any with the long-lived stop signal: each call would leave a listener on it.
      // stop() closes the transport, which aborts every dial in flight anyway.
      const conn = await this.transport.dial(addr, { signal: options.signal ?? this.stopController.signal })
      const admitted = this.admit(conn, options.persistent === true, options.exemptFromLimits === true)
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

  /** Dials each address after a random delay (up to dialJitter), without waiting; failures are events. */
  dialPeersAsync (addresses: string[], options: { persistent?: boolean } = {}): void {
    const jitter = this.opts.dialJitter ?? 3000
    for (const a of addresses) {
      void this.dialQueue.add(async () => {
        await sleep(Math.random() * jitter, this.stopController.signal)
        if (this.state !== 'started') return
        try {
          await this.dial(a, options)
        } catch (err) {
          logError('dial %s failed: %s', a, (err as Error).message)
          const id = stripScheme(a).split('@')[0] ?? ''
          if (options.persistent === true && this.persistent.has(id)) this.reconnect(id)
        }
      }).catch(() => {})
    }
  }

  /** Sends to every peer at once; resolves with each peer's result (false = not queued). */
  async broadcast<T> (ch: Channel<T>, message: T): Promise<Map<string, boolean>> {
    const bytes = ch.codec.encode(message)
    const peers = [...this.peerMap.values()]
    const results = await Promise.all(peers.map(async p => p.hasChannel(ch.id) ? await p.mconn.send(ch.id, bytes) : false))
    const sent = results.filter(Boolean).length
    if (sent > 0) this.messageBytes.add('sent', messageTypeOf(ch, message), bytes.length * sent)
    return new Map(peers.map((p, i) => [p.id, results[i]!]))
  }

  /** Disconnects a peer at once because of `error`; a persistent peer is redialed. */
  stopPeerForError (peer: Peer, error: SwitchyardError | string): void {
    const e = typeof error === 'string' ? new PeerStoppedError(error) : error
    logError('stopping peer %s: %s', peer.id, e.message)
    peer.mconn.close(e)
  }

  /** Flushes what is queued to the peer, then disconnects; its reactors see an undefined reason. */
  async stopPeerGracefully (peer: Peer): Promise<void> {
    await peer.mconn.stop()
  }

  /**
   * Every message on `ch` as an async iterator (after the owning reactor saw it). At most
   * `bufferSize` messages wait for the consumer; beyond that the sending peer is paused.
   */
  messages<T> (ch: Channel<T>, options: { signal?: AbortSignal, bufferSize?: number } = {}): AsyncIterableIterator<Envelope<T>> {
    const limit = options.bufferSize ?? 64
    const buffer: Array<Envelope<T>> = []
    const spaceWaiters: Array<() => void> = []
    let wake: (() => void) | undefined
    let done = false
    const sub: Subscriber = {
      channelId: ch.id,
      push: env => {
        if (done) return
        buffer.push(env as Envelope<T>)
        wake?.()
        if (buffer.length >= limit) return new Promise<void>(resolve => spaceWaiters.push(resolve))
      }
    }
    this.subscribers.add(sub)
    const finish = (): void => {
      done = true
      this.subscribers.delete(sub)
      for (const w of spaceWaiters.splice(0)) w()
      wake?.()
    }
    options.signal?.addEventListener('abort', finish, { once: true })
    this.stopController.signal.addEventListener('abort', finish, { once: true })
    const iterator: AsyncIterableIterator<Envelope<T>> = {
      [Symbol.asyncIterator]: () => iterator,
      next: async () => {
        while (buffer.length === 0 && !done) await new Promise<void>(resolve => { wake = resolve })
        const value = buffer.shift()
        if (value === undefined) return { done: true, value: undefined }
        spaceWaiters.shift()?.()
        return { done: false, value }
      },
      return: async () => { finish(); return { done: true, value: undefined } }
    }
    return iterator
  }

  // ---- admitting peers ----

  /** Turns an authenticated connection into a peer, or refuses it (closing it) and says why. */
  private admit (conn: Connection, persistentDial = false, exempt = false): Peer | SwitchyardError {
    const id = conn.peerId
    const refuse = (error: SwitchyardError): SwitchyardError => {
      conn.conn.destroy()
      this.rejected(`${id}@${conn.remoteIp}:${conn.remotePort}`, conn.outbound, error)
      return error
    }
    if (this.state !== 'started') return refuse(new SwitchStoppedError())
    const existing = this.peerMap.get(id)
    if (existing !== undefined) {
      // Two nodes that dial each other at the same moment end up with two connections, and if each
      // side refused its second one they would lose both. Both sides instead keep the connection
      // dialed by the node with the lower ID and close the other, so they agree on which survives.
      // Outside that moment (simultaneousConnectWindow after the first connection) a duplicate is refused.
      const keepOutbound = this.nodeKey.id < id
      const young = performance.now() - (this.addedAt.get(existing) ?? 0) < (this.opts.simultaneousConnectWindow ?? 2000)
      if (!young || conn.outbound !== keepOutbound || existing.outbound === keepOutbound) return refuse(new DuplicatePeerError(id))
      log('simultaneous connections with %s: keeping the one %s dialed', id, keepOutbound ? 'we' : 'they')
      existing.mconn.close(new DuplicatePeerError(`${id} (replaced by the connection ${keepOutbound ? 'we' : 'they'} dialed)`))
    }
    const unconditional = this.unconditional.has(id)
    const persistent = persistentDial || this.persistent.has(id)
    if (this.opts.allowDuplicateIp !== true && !unconditional) {
      for (const p of this.peerMap.values()) if (p.remoteIp === conn.remoteIp) return refuse(new DuplicateIpError(conn.remoteIp))
    }
    const counts = this.numPeers()
    if (!conn.outbound && !unconditional && counts.inbound >= (this.opts.maxInboundPeers ?? 40)) {
      return refuse(new TooManyPeersError('inbound', this.opts.maxInboundPeers ?? 40))
    }
    if (conn.outbound && !unconditional && !persistent && !exempt && counts.outbound >= this.maxOutboundPeers) {
      return refuse(new TooManyPeersError('outbound', this.opts.maxOutboundPeers ?? 10))
    }

    const peer = new Peer(id, conn.peerNodeInfo, { outbound: conn.outbound, persistent, unconditional }, conn.remoteIp, conn.remotePort, conn.dialed)
    for (const r of this.reactors.values()) r.initPeer?.(peer)
    const mconn = new MConnection(conn.conn, { ...this.opts.connection, channels: [...this.byChannel.values()].map(c => c.channel) })
    peer.mconn = mconn
    peer.messageBytes = this.messageBytes
    const queue = new InboundQueue(this.opts.maxInboundQueue ?? 64, () => mconn.pause(), () => mconn.resume(), err => {
      this.stopPeerForError(peer, err instanceof SwitchyardError ? err : new PeerStoppedError(`reactor failed: ${(err as Error)?.message ?? String(err)}`))
    })
    this.inbound.set(peer, queue)
    this.peerMap.set(id, peer)
    this.addedAt.set(peer, performance.now())
    mconn.on('message', (chId, data) => { this.route(peer, queue, chId, data) })
    mconn.once('close', reason => { this.removed(peer, reason) })
    for (const r of this.reactors.values()) r.addPeer?.(peer)
    if (conn.outbound && conn.dialed !== undefined) this.opts.addressBook?.markGood?.(conn.dialed)
    log('added peer %s (%s, %s)', id, peer.moniker, conn.outbound ? 'outbound' : 'inbound')
    this.emit('peer:add', peer)
    return peer
  }

  private route (peer: Peer, queue: InboundQueue, chId: number, data: Buffer): void {
    const owner = this.byChannel.get(chId)
    if (owner === undefined) return // MConnection already refuses channels we do not have
    let message: unknown
    try {
      message = owner.channel.codec.decode(data)
    } catch (err) {
      this.stopPeerForError(peer, new MalformedMessageError(`peer ${peer.id} sent an undecodable message on channel ${chId}: ${(err as Error).message}`, { cause: err }))
      return
    }
    this.messageBytes.add('received', messageTypeOf(owner.channel, message), data.length)
    const env: Envelope<any> = { peer, channel: owner.channel, message }
    queue.deliver(() => {
      const r = owner.reactor.receive?.(env)
      let waits: Array<void | Promise<void>> | undefined
      for (const s of this.subscribers) {
        if (s.channelId === chId) (waits ??= []).push(s.push(env))
      }
      if (waits === undefined) return r
      const pending = [r, ...waits].filter((x): x is Promise<void> => x instanceof Promise)
      if (pending.length > 0) return Promise.all(pending).then(() => {})
    })
  }

  private removed (peer: Peer, reason: RemoveReason): void {
    if (this.peerMap.get(peer.id) !== peer) return
    this.peerMap.delete(peer.id)
    this.inbound.get(peer)?.clear()
    this.inbound.delete(peer)
    for (const r of this.reactors.values()) {
      try { r.removePeer?.(peer, reason) } catch (err) { logError('removePeer of a reactor failed: %s', (err as Error).message) }
    }
    log('removed peer %s: %s', peer.id, reason?.message ?? 'stopped gracefully')
    this.emit('peer:remove', peer, reason)
    if (peer.persistent && this.state === 'started') this.reconnect(peer.id, peer.dialedAddress)
  }

  private rejected (address: string, outbound: boolean, error: SwitchyardError): void {
    this.emit('peer:rejected', { address, outbound, error })
  }

  /** Redials a persistent peer on the reconnect schedule until it is connected or we give up. */
  private reconnect (id: string, dialed?: NetAddress): void {
    if (this.reconnecting.has(id)) return
    const target = this.persistent.get(id) ?? dialed?.toString()
    if (target === undefined) return
    const controller = new AbortController()
    this.reconnecting.set(id, controller)
    void (async () => {
      try {
        for (const delay of reconnectDelays(this.reconnectPolicy)) {
          await sleep(delay, controller.signal)
          if (this.state !== 'started' || this.peerMap.has(id)) return
          try {
            await this.dial(target, { persistent: true, signal: controller.signal })
            return
          } catch (err) {
            if ((err as SwitchyardError).code === 'ERR_DUPLICATE_PEER') return
            log('reconnect to %s failed: %s', id, (err as Error).message)
          }
        }
        logError('gave up reconnecting to persistent peer %s', id)
      } catch {
        // aborted by stop()
      } finally {
        this.reconnecting.delete(id)
      }
    })()
  }
}

async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) throw signal.reason
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve() }, ms)
    const onAbort = (): void => { clearTimeout(timer); reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
