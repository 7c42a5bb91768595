/**
 * LAN discovery: nodes announce themselves with signed UDP datagrams to a multicast group and/or a
 * subnet broadcast address, on start, periodically with jitter, and in answer to a query. What is
 * heard is checked (size, shape, ID against key, network, port, clock — then, within a budget, the
 * signature) and reported as 'peer' events with the datagram's source IP.
 */
import dgram from 'node:dgram'
import { EventEmitter } from 'node:events'
import createDebug from 'debug'
import { DEFAULT_BLOCK_VERSION, DEFAULT_P2P_VERSION, NetAddress, normaliseIp, type NodeKey } from '@switchyard/p2p'
import { encodeAnnouncement, parseAnnouncement, verifyAnnouncement, type Announcement } from './announcement.js'
import { chooseInterface, LanDiscoveryError, type LanInterface } from './interface-choice.js'
import { VerifyGate, type VerifyGateOptions } from './verify-gate.js'

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
  /**
   * Interface to use: one of its IPv4 addresses or its name (default: chosen — the only non-loopback
   * interface, else the one routing the group; see `lan.interface.reason`).
   */
  interface?: string
  /** Broadcast destination (default: the chosen interface's subnet broadcast, e.g. 192.168.1.255). */
  broadcastAddress?: string
  /** Local IP datagrams are sent from (default: the chosen interface's address); tests on 127.x.y.z use it. */
  sourceAddress?: string
  /** Announce every this many ms, ±20 % (default 30 s). */
  interval?: number
  p2pVersion?: number
  blockVersion?: number
  /** Datagrams larger than this are dropped unread (default 512 bytes). */
  maxDatagram?: number
  /** Signature checks per source IP for not-yet-verified senders: rate per second and burst (default 2/s, burst 5). */
  perSourceRate?: number
  perSourceBurst?: number
  /** Sources, (source, ID) pairs and IDs remembered for rate limiting, each (default 1024). */
  maxSources?: number
  /** Global signature-check budgets and per-pair limits (see VerifyGate). */
  budget?: Pick<VerifyGateOptions, 'knownPerSecond' | 'unknownPerSecond' | 'perPairRate' | 'perPairBurst'>
  /** A querier is answered at most once per this many ms (default 1000). */
  answerInterval?: number
  /**
   * Kernel receive buffer asked for (default 1 MiB; the OS caps it at net.core.rmem_max). The
   * default ~200 KB holds under 100 datagrams on some links, so a short stall under a flood
   * dropped genuine announcements along with the forged ones.
   */
  recvBufferSize?: number
  /** Announcements whose timestamp is further than this from our clock are ignored (default 5 min). */
  maxClockSkew?: number
}

export interface DiscoveredPeer {
  id: string
  address: NetAddress
  announcement: Announcement
  /** First time this ID was heard (among the last `maxSources` IDs). */
  firstSeen: boolean
}

export interface LanSendError { destination: string, code: string, message: string }

export interface LanDiscoveryEvents {
  peer: [DiscoveredPeer]
  /** An announcement could not be sent (also counted in stats.sendFailures). */
  'send-error': [LanSendError]
}

export type LanRejectReason = 'too-large' | 'malformed' | 'id-mismatch' | 'bad-port' | 'other-network' | 'stale' | 'self' |
'duplicate' | 'replay' | 'rate-limited' | 'over-budget' | 'bad-signature'

export interface LanStats {
  /** Datagrams the kernel accepted for sending (failed sends are in sendFailures). */
  sent: number
  sendFailures: Map<string, number>
  received: number
  accepted: number
  rejected: Map<LanRejectReason, number>
  /** Distinct node IDs discovered (an ID forgotten after `maxSources` others counts again). */
  peersFound: number
  /** Signatures checked (the costly step the budget bounds). */
  verified: number
  /** Queries answered (each querier at most once per answerInterval; one datagram may answer several). */
  queriesAnswered: number
}

type Resolved = Required<Omit<LanDiscoveryOptions, 'interface' | 'sourceAddress' | 'broadcastAddress' | 'budget'>> & Pick<LanDiscoveryOptions, 'interface' | 'sourceAddress' | 'broadcastAddress' | 'budget'>

export class LanDiscovery extends EventEmitter<LanDiscoveryEvents> {
  readonly stats: LanStats = { sent: 0, sendFailures: new Map(), received: 0, accepted: 0, rejected: new Map(), peersFound: 0, verified: 0, queriesAnswered: 0 }
  private readonly o: Resolved
  private readonly gate: VerifyGate
  private readonly found = new Map<string, true>()
  private readonly answered = new Map<string, number>()
  private chosen: LanInterface | undefined
  private receiver: dgram.Socket | undefined
  private sender: dgram.Socket | undefined
  private timer: NodeJS.Timeout | undefined
  private answerTimer: NodeJS.Timeout | undefined
  private running = false

  constructor (options: LanDiscoveryOptions) {
    super()
    this.o = {
      mode: 'multicast',
      group: '235.5.5.11',
      port: 8001,
      interval: 30_000,
      p2pVersion: DEFAULT_P2P_VERSION,
      blockVersion: DEFAULT_BLOCK_VERSION,
      maxDatagram: 512,
      perSourceRate: 2,
      perSourceBurst: 5,
      maxSources: 1024,
      maxClockSkew: 5 * 60_000,
      answerInterval: 1000,
      recvBufferSize: 1024 * 1024,
      ...options
    }
    if (!(this.o.listenPort >= 1 && this.o.listenPort <= 65535)) throw new RangeError(`LanDiscovery option listenPort must be 1–65535, got ${this.o.listenPort}`)
    this.gate = new VerifyGate({ ...this.o.budget, perSourceRate: this.o.perSourceRate, perSourceBurst: this.o.perSourceBurst, maxSources: this.o.maxSources, maxClockSkew: this.o.maxClockSkew })
  }

  get sourcesTracked (): number {
    return this.gate.sourcesTracked
  }

  /** The interface in use and why it was chosen (after start). */
  get interface (): LanInterface | undefined {
    return this.chosen
  }

  /** Where announcements go (after start): the group and/or the broadcast address. */
  get destinations (): string[] {
    return [...(this.o.mode !== 'broadcast' ? [this.o.group] : []), ...(this.o.mode !== 'multicast' ? [this.broadcastAddress] : [])]
  }

  private get broadcastAddress (): string {
    return this.o.broadcastAddress ?? this.chosen?.broadcast ?? '255.255.255.255'
  }

  /**
   * Binds the port, joins the group on the chosen interface and sends the first query. Fails with
   * a LanDiscoveryError naming the cause (and holds no socket) when that is impossible.
   */
  async start (): Promise<void> {
    const chosen = chooseInterface(this.o.interface, this.o.group)
    const multicast = this.o.mode !== 'broadcast'
    const receiver = dgram.createSocket({ type: 'udp4', reuseAddr: true, recvBufferSize: this.o.recvBufferSize })
    const sender = dgram.createSocket('udp4')
    const closeBoth = (): void => { for (const s of [receiver, sender]) { try { s.close() } catch { /* not bound */ } } }
    try {
      receiver.on('message', (msg, rinfo) => { this.onDatagram(msg, rinfo) })
      await new Promise<void>((resolve, reject) => { receiver.once('error', reject); receiver.bind(this.o.port, () => { receiver.off('error', reject); resolve() }) })
      receiver.on('error', err => log('receiver error: %s', err.message))
      if (multicast) {
        try {
          receiver.addMembership(this.o.group, chosen.address)
        } catch (err) {
          throw new LanDiscoveryError('ERR_LAN_MULTICAST_JOIN', `cannot join multicast group ${this.o.group} on ${chosen.name} (${chosen.address}): ${(err as Error).message}; set lan_discovery_interface to an interface that is up, or use lan_discovery = "broadcast"`, { cause: err })
        }
        receiver.setMulticastLoopback(true)
      }
      await new Promise<void>((resolve, reject) => { sender.once('error', reject); sender.bind(0, this.o.sourceAddress ?? chosen.address, () => { sender.off('error', reject); resolve() }) })
      sender.on('error', err => log('sender error: %s', err.message))
      if (multicast) {
        sender.setMulticastInterface(chosen.address)
        sender.setMulticastLoopback(true)
        sender.setMulticastTTL(1) // stay on the local network
      }
      if (this.o.mode !== 'multicast') sender.setBroadcast(true)
    } catch (err) {
      closeBoth()
      throw err
    }
    this.chosen = chosen
    this.receiver = receiver
    this.sender = sender
    this.running = true
    this.announce(true)
    this.schedule()
    log('started (%s) on udp port %d, interface %s %s (%s)', this.o.mode, this.o.port, chosen.name, chosen.address, chosen.reason)
  }

  async stop (): Promise<void> {
    this.running = false
    clearTimeout(this.timer)
    clearTimeout(this.answerTimer)
    this.answerTimer = undefined
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
    for (const host of this.destinations) {
      sender.send(datagram, this.o.port, host, err => {
        if (err === null) { this.stats.sent++; return }
        const code = (err as NodeJS.ErrnoException).code ?? 'ERROR'
        this.stats.sendFailures.set(code, (this.stats.sendFailures.get(code) ?? 0) + 1)
        log('send to %s failed: %s', host, err.message)
        this.emit('send-error', { destination: host, code, message: err.message })
      })
    }
  }

  private reject (reason: LanRejectReason, from: string): void {
    this.stats.rejected.set(reason, (this.stats.rejected.get(reason) ?? 0) + 1)
    if (log.enabled) log('rejected a datagram from %s: %s', from, reason) // hot under a flood: no call when off
  }

  private onDatagram (msg: Buffer, rinfo: dgram.RemoteInfo): void {
    this.stats.received++
    const ip = rinfo.family === 'IPv4' ? rinfo.address : normaliseIp(rinfo.address) // a udp4 socket: always IPv4
    if (msg.length > this.o.maxDatagram) { this.reject('too-large', ip); return }
    // Cheap checks first; the signature only within the gate's budget.
    const unread = this.gate.refuseUnread(ip)
    if (unread !== undefined) { this.reject(unread, ip); return }
    const p = parseAnnouncement(msg)
    if (typeof p === 'string') { this.reject(p, ip); return }
    const a = p.announcement
    if (a.nodeId === this.o.nodeKey.id) { this.reject('self', ip); return }
    if (a.network !== this.o.network) { this.reject('other-network', ip); return }
    if (Math.abs(Date.now() - a.timestampMs) > this.o.maxClockSkew) { this.reject('stale', ip); return }
    const admitted = this.gate.admit(ip, a.nodeId, a.timestampMs)
    if (admitted !== 'ok') { this.reject(admitted, ip); return }
    this.stats.verified++
    if (!verifyAnnouncement(p)) { this.reject('bad-signature', ip); return }
    this.gate.verified(ip, a.nodeId, a.timestampMs)
    this.stats.accepted++
    if (a.query) this.answer(`${ip} ${a.nodeId}`)
    const firstSeen = !this.found.has(a.nodeId)
    this.found.delete(a.nodeId)
    if (firstSeen) {
      this.stats.peersFound++
      if (this.found.size >= this.o.maxSources) this.found.delete(this.found.keys().next().value!)
    }
    this.found.set(a.nodeId, true)
    this.emit('peer', { id: a.nodeId, address: new NetAddress(a.nodeId, ip, a.port), announcement: a, firstSeen })
  }

  /**
   * Answers a query: each querier at most once per answerInterval, and queries arriving within a
   * few ms share one answer (it is multicast, so every querier hears it).
   */
  private answer (querier: string): void {
    const now = performance.now()
    const last = this.answered.get(querier)
    if (last !== undefined && now - last < this.o.answerInterval) return
    this.answered.delete(querier)
    if (this.answered.size >= this.o.maxSources) this.answered.delete(this.answered.keys().next().value!)
    this.answered.set(querier, now)
    this.stats.queriesAnswered++
    if (this.answerTimer !== undefined) return
    this.answerTimer = setTimeout(() => {
      this.answerTimer = undefined
      if (this.running) this.announce(false)
    }, 5 + Math.random() * 20)
  }
}

