/**
 * LAN discovery: nodes announce themselves with signed UDP datagrams to a multicast group and/or a
 * broadcast address, on start, periodically with jitter, and in answer to a query. What is heard
 * is checked (size, signature, ID against key, network, port, clock), rate-limited per source, and
 * reported as 'peer' events with the datagram's source IP.
 */
import dgram from 'node:dgram'
import { EventEmitter } from 'node:events'
import createDebug from 'debug'
import { DEFAULT_BLOCK_VERSION, DEFAULT_P2P_VERSION, NetAddress, normaliseIp, type NodeKey } from '@switchyard/p2p'
import { decodeAnnouncement, encodeAnnouncement, type Announcement } from './announcement.js'
import { SourceLimiter } from './source-limiter.js'

const log = createDebug('switchyard:discovery-lan')

export type LanMode = 'multicast' | 'broadcast' | 'both'

export interface LanDiscoveryOptions {
  nodeKey: NodeKey
  network: string
  /** Our p2p listen port (announced; the IP is taken from the datagram by receivers). */
  listenPort: number
  mode?: LanMode
  /** Multicast group and UDP port (default 235.5.5.11:8001). */
  group?: string
  /** UDP port for both modes (default 8001). */
  port?: number
  /** Address of the interface to multicast on (default: the OS's choice; 127.0.0.1 for loopback). */
  interface?: string
  /** Broadcast destination (default 255.255.255.255; a subnet broadcast such as 192.168.1.255 works too). */
  broadcastAddress?: string
  /** Local IP datagrams are sent from (default: any); tests on 127.x.y.z use it. */
  sourceAddress?: string
  /** Announce every this many ms, ±20 % (default 30 s). */
  interval?: number
  p2pVersion?: number
  blockVersion?: number
  /** Datagrams larger than this are dropped unread (default 512 bytes). */
  maxDatagram?: number
  /** Accepted datagrams per source IP: rate per second and burst (default 2/s, burst 5). */
  perSourceRate?: number
  perSourceBurst?: number
  /** Sources remembered for rate limiting (default 1024). */
  maxSources?: number
  /** Announcements whose timestamp is further than this from our clock are ignored (default 5 min). */
  maxClockSkew?: number
}

export interface DiscoveredPeer {
  id: string
  address: NetAddress
  announcement: Announcement
}

export interface LanDiscoveryEvents {
  peer: [DiscoveredPeer]
}

export type IgnoreReason = 'too-large' | 'rate-limited' | 'malformed' | 'bad-signature' | 'id-mismatch' | 'bad-port' | 'other-network' | 'stale' | 'self'

export class LanDiscovery extends EventEmitter<LanDiscoveryEvents> {
  readonly stats = { sent: 0, received: 0, accepted: 0, ignored: new Map<IgnoreReason, number>() }
  private readonly o: Required<Omit<LanDiscoveryOptions, 'interface' | 'sourceAddress'>> & Pick<LanDiscoveryOptions, 'interface' | 'sourceAddress'>
  private readonly limiter: SourceLimiter
  private receiver: dgram.Socket | undefined
  private sender: dgram.Socket | undefined
  private timer: NodeJS.Timeout | undefined
  private lastAnswer = 0
  private running = false

  constructor (options: LanDiscoveryOptions) {
    super()
    this.o = {
      mode: 'multicast',
      group: '235.5.5.11',
      port: 8001,
      broadcastAddress: '255.255.255.255',
      interval: 30_000,
      p2pVersion: DEFAULT_P2P_VERSION,
      blockVersion: DEFAULT_BLOCK_VERSION,
      maxDatagram: 512,
      perSourceRate: 2,
      perSourceBurst: 5,
      maxSources: 1024,
      maxClockSkew: 5 * 60_000,
      ...options
    }
    if (!(this.o.listenPort >= 1 && this.o.listenPort <= 65535)) throw new RangeError(`LanDiscovery option listenPort must be 1–65535, got ${this.o.listenPort}`)
    this.limiter = new SourceLimiter(this.o.perSourceRate, this.o.perSourceBurst, this.o.maxSources)
  }

  get sourcesTracked (): number {
    return this.limiter.size
  }

  async start (): Promise<void> {
    const multicast = this.o.mode !== 'broadcast'
    const receiver = dgram.createSocket({ type: 'udp4', reuseAddr: true })
    receiver.on('message', (msg, rinfo) => { this.onDatagram(msg, rinfo) })
    receiver.on('error', err => log('receiver error: %s', err.message))
    await new Promise<void>((resolve, reject) => { receiver.once('error', reject); receiver.bind(this.o.port, () => { receiver.off('error', reject); resolve() }) })
    if (multicast) {
      receiver.addMembership(this.o.group, this.o.interface)
      receiver.setMulticastLoopback(true)
    }
    const sender = dgram.createSocket('udp4')
    sender.on('error', err => log('sender error: %s', err.message))
    await new Promise<void>((resolve, reject) => { sender.once('error', reject); sender.bind(0, this.o.sourceAddress, () => { sender.off('error', reject); resolve() }) })
    if (multicast) {
      if (this.o.interface !== undefined) sender.setMulticastInterface(this.o.interface)
      sender.setMulticastLoopback(true)
      sender.setMulticastTTL(1) // stay on the local network
    }
    if (this.o.mode !== 'multicast') sender.setBroadcast(true)
    this.receiver = receiver
    this.sender = sender
    this.running = true
    this.announce(true)
    this.schedule()
    log('started (%s) on udp port %d', this.o.mode, this.o.port)
  }

  async stop (): Promise<void> {
    this.running = false
    clearTimeout(this.timer)
    await Promise.all([this.receiver, this.sender].map(async s => await new Promise<void>(resolve => { if (s === undefined) resolve(); else s.close(() => resolve()) })))
    this.receiver = undefined
    this.sender = undefined
  }

  private schedule (): void {
    const jitter = 1 + (Math.random() * 0.4 - 0.2)
    this.timer = setTimeout(() => { if (this.running) { this.announce(false); this.schedule() } }, this.o.interval * jitter)
    this.timer.unref()
  }

  /** Sends our announcement (with `query` set, every receiver answers with its own). */
  announce (query: boolean): void {
    const sender = this.sender
    if (sender === undefined) return
    const datagram = encodeAnnouncement(this.o.nodeKey, {
      network: this.o.network, port: this.o.listenPort, p2pVersion: this.o.p2pVersion,
      blockVersion: this.o.blockVersion, timestampMs: Date.now(), query
    })
    const send = (host: string): void => {
      sender.send(datagram, this.o.port, host, err => { if (err !== null) log('send to %s failed: %s', host, err.message) })
      this.stats.sent++
    }
    if (this.o.mode !== 'broadcast') send(this.o.group)
    if (this.o.mode !== 'multicast') send(this.o.broadcastAddress)
  }

  private ignore (reason: IgnoreReason, from: string): void {
    this.stats.ignored.set(reason, (this.stats.ignored.get(reason) ?? 0) + 1)
    log('ignored a datagram from %s: %s', from, reason)
  }

  private onDatagram (msg: Buffer, rinfo: dgram.RemoteInfo): void {
    this.stats.received++
    const ip = normaliseIp(rinfo.address)
    if (msg.length > this.o.maxDatagram) { this.ignore('too-large', ip); return }
    if (!this.limiter.allow(ip)) { this.ignore('rate-limited', ip); return }
    const a = decodeAnnouncement(msg)
    if (typeof a === 'string') { this.ignore(a, ip); return }
    if (a.nodeId === this.o.nodeKey.id) { this.ignore('self', ip); return }
    if (a.network !== this.o.network) { this.ignore('other-network', ip); return }
    if (Math.abs(Date.now() - a.timestampMs) > this.o.maxClockSkew) { this.ignore('stale', ip); return }
    this.stats.accepted++
    if (a.query && Date.now() - this.lastAnswer > 1000) {
      // Answer queries, at most once a second whoever asks.
      this.lastAnswer = Date.now()
      this.announce(false)
    }
    this.emit('peer', { id: a.nodeId, address: new NetAddress(a.nodeId, ip, a.port), announcement: a })
  }
}
