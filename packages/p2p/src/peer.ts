/**
 * A connected, authenticated peer: its identity and NodeInfo, its connection (behind the PeerLink
 * interface), and per-peer data that reactors keep on it.
 */
import createDebug from 'debug'
import type { MConnectionStatus, SendOptions } from '@switchyard/conn'
import type { SwitchyardError } from '@switchyard/wire'
import type { NodeInfo } from '@switchyard/wire'
import type { Channel } from './channel.js'
import { NetAddress } from './net-address.js'
import { splitHostPort, stripScheme } from './host-port.js'
import { messageTypeOf, type MessageByteCounters } from './message-bytes.js'

const log = createDebug('switchyard:p2p:peer')

/** A typed key for per-peer reactor data: `const Height = peerDataKey<number>('height')`. */
export interface PeerDataKey<T> { readonly name: string, readonly _type?: T }
export function peerDataKey<T> (name: string): PeerDataKey<T> {
  return Object.freeze({ name })
}

/**
 * What a Peer needs from its connection: an MConnection in practice, anything with these methods
 * in a unit test. The Switch owns it; reactors reach it only through the Peer's methods.
 */
export interface PeerLink {
  readonly isClosed: boolean
  send: (channelId: number, bytes: Uint8Array, options?: SendOptions) => Promise<boolean>
  trySend: (channelId: number, bytes: Uint8Array) => boolean
  /** Drops the connection at once; `reason` is what the peer is removed with. */
  close: (reason?: SwitchyardError) => void
  /** Flushes what is queued, then closes. */
  stop: (options?: { timeout?: number }) => Promise<void>
  status: () => MConnectionStatus
}

export interface PeerFlags {
  outbound: boolean
  persistent: boolean
  unconditional: boolean
}

export interface PeerStatus extends PeerFlags {
  id: string
  remoteAddress: string
  moniker: string
  connection: MConnectionStatus
}

export class Peer {
  readonly id: string
  readonly nodeInfo: NodeInfo
  readonly outbound: boolean
  readonly persistent: boolean
  readonly unconditional: boolean
  readonly remoteIp: string
  readonly remotePort: number
  /** The address we dialed (outbound) — what a persistent peer reconnects to. */
  readonly dialedAddress: NetAddress | undefined
  private link: PeerLink | undefined
  /** @internal Where sent message bytes are counted by type (set by the Switch). */
  messageBytes: MessageByteCounters | undefined
  private readonly data = new Map<PeerDataKey<unknown>, unknown>()
  private readonly remoteChannels: Set<number>

  constructor (id: string, nodeInfo: NodeInfo, flags: PeerFlags, remoteIp: string, remotePort: number, dialedAddress?: NetAddress) {
    this.id = id
    this.nodeInfo = nodeInfo
    this.outbound = flags.outbound
    this.persistent = flags.persistent
    this.unconditional = flags.unconditional
    this.remoteIp = remoteIp
    this.remotePort = remotePort
    this.dialedAddress = dialedAddress
    this.remoteChannels = new Set(nodeInfo.channels)
  }

  /** id@ip:port of the TCP connection (for an inbound peer the port is ephemeral). */
  get socketAddress (): NetAddress {
    return new NetAddress(this.id, this.remoteIp, this.remotePort)
  }

  /**
   * The address the peer says it listens on (NodeInfo listen_addr with its ID), or undefined when
   * that is not a usable IP address (a DNS name is left to the caller to resolve).
   */
  get listenAddress (): NetAddress | undefined {
    const hp = splitHostPort(stripScheme(this.nodeInfo.listenAddr))
    if (typeof hp === 'string') return undefined
    try {
      return NetAddress.parse(`${this.id}@${hp.host.includes(':') ? `[${hp.host}]` : hp.host}:${hp.port}`)
    } catch {
      return undefined
    }
  }

  get moniker (): string {
    return this.nodeInfo.moniker
  }

  /** @internal Called once by the Switch, after every reactor's initPeer. */
  attach (link: PeerLink): void {
    if (this.link !== undefined) throw new Error(`peer ${this.id} already has a connection`)
    this.link = link
  }

  /** False before the connection starts (during initPeer) and after it closed. */
  get isConnected (): boolean {
    return this.link !== undefined && !this.link.isClosed
  }

  /** Whether the peer advertised this channel (sending on others is refused, as CometBFT does). */
  hasChannel (channelId: number): boolean {
    return this.remoteChannels.has(channelId)
  }

  /** Encodes and queues a message; resolves false when it could not be queued (see MConnection.send). */
  async send<T> (ch: Channel<T>, message: T, options?: SendOptions): Promise<boolean> {
    if (!this.hasChannel(ch.id)) { log('%s does not have channel %d', this.id, ch.id); return false }
    const bytes = ch.codec.encode(message)
    const ok = await this.sendBytes(ch.id, bytes, options)
    if (ok) this.messageBytes?.add('sent', messageTypeOf(ch, message), bytes.length)
    return ok
  }

  /** Encodes and queues a message if there is room now. */
  trySend<T> (ch: Channel<T>, message: T): boolean {
    if (!this.hasChannel(ch.id)) return false
    const bytes = ch.codec.encode(message)
    const ok = this.trySendBytes(ch.id, bytes)
    if (ok) this.messageBytes?.add('sent', messageTypeOf(ch, message), bytes.length)
    return ok
  }

  /** Queues bytes already encoded for `channelId` (forwarding, or tests of a peer's defences). */
  async sendBytes (channelId: number, bytes: Uint8Array, options?: SendOptions): Promise<boolean> {
    return this.link !== undefined && await this.link.send(channelId, bytes, options)
  }

  trySendBytes (channelId: number, bytes: Uint8Array): boolean {
    return this.link !== undefined && this.link.trySend(channelId, bytes)
  }

  /** @internal The Switch's way to end the connection (Switch.stopPeerForError / stopPeerGracefully). */
  disconnect (reason?: SwitchyardError): void {
    this.link?.close(reason)
  }

  /** @internal */
  async disconnectGracefully (options?: { timeout?: number }): Promise<void> {
    await this.link?.stop(options)
  }

  get<T> (key: PeerDataKey<T>): T | undefined {
    return this.data.get(key) as T | undefined
  }

  set<T> (key: PeerDataKey<T>, value: T): void {
    this.data.set(key, value)
  }

  status (): PeerStatus {
    return {
      id: this.id,
      outbound: this.outbound,
      persistent: this.persistent,
      unconditional: this.unconditional,
      remoteAddress: this.socketAddress.dialString,
      moniker: this.moniker,
      connection: this.link?.status() ?? notStarted
    }
  }
}

// status() during initPeer, before the connection exists.
const notStarted: MConnectionStatus = { durationMs: 0, bytesSent: 0, bytesReceived: 0, sendRate: 0, recvRate: 0, pingsSent: 0, pongsReceived: 0, channels: [], pacing: undefined, reassemblyBytes: 0, maxReassemblyBytes: 0 }
