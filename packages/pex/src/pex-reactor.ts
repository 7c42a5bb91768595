/**
 * The PEX reactor (channel 0x00), wire-compatible with CometBFT: peers ask each other for
 * addresses, answers fill the AddrBook, and ensurePeers dials from the book until the outbound
 * target is met. In seed (crawler) mode the node instead crawls the book and answers each inbound
 * request once, then hangs up — after the answer is flushed, not before. A seed also verifies what it
 * learns (verifier.ts) and serves only addresses a handshake reached recently (docs/seed-node.md).
 */
import createDebug from 'debug'
import net from 'node:net'
import {
  NetAddress, parseStreamAddress, resolveNetAddress, Reactor, channel, type Envelope, type Peer, type RemoveReason
} from '@switchyard/p2p'
import { decodePexMessage, encodePexMessage, type PexMessage } from '@switchyard/wire'
import { DEFAULT_BAN_MS, type AddrBook } from './addr-book.js'
import { AddressVerifier, reachedAges, type AddressVerifierOptions } from './verifier.js'
import { PexInvalidAddressError, PexNoRequestError, PexRequestTooSoonError, PexUnsolicitedError } from './errors.js'
import { RecentMap } from './recent-map.js'

const log = createDebug('switchyard:pex:reactor')

/** 256 bytes per address × 250 addresses, as CometBFT sizes it. */
export const PEX_MAX_MESSAGE = 64_000

export const PexChannel = channel<PexMessage, 0x00>({
  id: 0x00, priority: 1, sendQueueCapacity: 10, recvMessageCapacity: PEX_MAX_MESSAGE,
  message: { encode: encodePexMessage, decode: decodePexMessage },
  // CometBFT's Go names (package p2p): its metrics label these p2p_PexRequest / p2p_PexAddrs.
  messageType: m => m.type === 'request' ? 'p2p.PexRequest' : 'p2p.PexAddrs'
})

export interface PexReactorOptions {
  book: AddrBook
  seedMode?: boolean
  /** id@host:port of seed nodes, dialed when the book cannot supply addresses (DNS names resolved). */
  seeds?: string[]
  /** Told when a seed cannot be dialed at all (its name does not resolve), for operator logs. */
  onSeedUnusable?: (seed: string, error: Error) => void
  /** How often ensurePeers (or, in seed mode, the crawl) runs (CometBFT: 30 s). */
  ensurePeersPeriod?: number
  /** A peer may ask at most once per this many ms after its first two requests (default period / 3). */
  minReceiveRequestInterval?: number
  crawlPeriod?: number
  minTimeBetweenCrawls?: number
  /**
   * Seed mode: crawled peers are let go after this long (the crawl hold). CometBFT's seed holds them
   * 28 h, waiting for them to become "good" by consensus; ours proves an address by the handshake
   * itself and only needs the peer's PEX answer, so the default is 30 s.
   */
  seedDisconnectWaitPeriod?: number
  /** Seed mode: dial what the crawler learns, through a bounded, rate-limited pool (default true). */
  verifyAddresses?: boolean
  /** Answer PexRequests only with addresses a handshake reached within verifiedWindow (default: seedMode). */
  serveVerifiedOnly?: boolean
  /** How recent a successful handshake must be for an address to be served (default 1 h). */
  verifiedWindow?: number
  /** The verification pool's bounds (defaults: 8 dials in flight, 10 started per second, 4096 queued). */
  verifier?: Omit<AddressVerifierOptions, 'dial'>
  /** First retry of a failed verification after this long, doubling per failure up to verifiedWindow (default 30 s). */
  verifyRetryUnit?: number
  /**
   * Seed mode: an inbound peer that has not asked for addresses this many ms after connecting is
   * disconnected (ERR_PEX_NO_REQUEST), so silent peers cannot hold every inbound slot (default 10 s;
   * persistent and unconditional peers are exempt).
   */
  seedRequestTimeout?: number
  /** Failed dials of a non-persistent address before it is banned (CometBFT: 16). */
  maxAttemptsToDial?: number
  banTime?: number
  /** Dial back-off per address: 2^attempts × unit + up to one unit of jitter (CometBFT: 1 s). */
  dialBackoffUnit?: number
  /** Wait up to one period before the first ensurePeers when we already have peers (default true). */
  startJitter?: boolean
  /** Peers and addresses whose request times, dial back-off and crawl times are remembered (default 1024 each). */
  maxTracked?: number
  random?: () => number
}

const SELECTION_BIAS_SEED = 30

export class PexReactor extends Reactor {
  readonly channels = [PexChannel]
  readonly book: AddrBook
  private readonly o: Required<Omit<PexReactorOptions, 'book' | 'seeds' | 'verifier' | 'onSeedUnusable'>> & { seeds: string[] }
  private readonly onSeedUnusable: ((seed: string, error: Error) => void) | undefined
  /** The seed's verification pool (undefined when not verifying). */
  readonly verifier: AddressVerifier | undefined
  private readonly seedIds: Set<string>
  private readonly requestsSent = new Set<string>()
  // Bounded: a stream of new peer IDs or dead addresses forgets the oldest, never grows them.
  private readonly requestedAt: RecentMap<string, number>
  private readonly received = new Map<string, { count: number, last: number }>()
  private readonly dialAttempts: RecentMap<string, { attempts: number, lastDialed: number }>
  private readonly crawled: RecentMap<string, number>
  private readonly connectedAt = new Map<string, number>()
  /** Seed mode: one timer per inbound peer that has not asked yet (bounded by the inbound limit). */
  private readonly graceTimers = new Map<string, NodeJS.Timeout>()
  private timers: NodeJS.Timeout[] = []
  private wakeScheduled = false
  private stopped = false
  /** Requests served, answers received, punishments — for logs and metrics. */
  readonly stats = { requestsServed: 0, requestsSent: 0, addrsReceived: 0, addrsServed: 0, tooSoon: 0, unsolicited: 0, invalid: 0, dials: 0, dialFailures: 0, ensureRounds: 0, silentDropped: 0 }

  constructor (options: PexReactorOptions) {
    super()
    const period = options.ensurePeersPeriod ?? 30_000
    this.book = options.book
    const tracked = options.maxTracked ?? 1024
    this.requestedAt = new RecentMap(tracked)
    this.dialAttempts = new RecentMap(tracked)
    this.crawled = new RecentMap(tracked)
    this.o = {
      seedMode: options.seedMode ?? false,
      seeds: options.seeds ?? [],
      ensurePeersPeriod: period,
      minReceiveRequestInterval: options.minReceiveRequestInterval ?? period / 3,
      crawlPeriod: options.crawlPeriod ?? 30_000,
      minTimeBetweenCrawls: options.minTimeBetweenCrawls ?? 120_000,
      seedDisconnectWaitPeriod: options.seedDisconnectWaitPeriod ?? 30_000,
      seedRequestTimeout: options.seedRequestTimeout ?? 10_000,
      verifyAddresses: options.verifyAddresses ?? true,
      serveVerifiedOnly: options.serveVerifiedOnly ?? options.seedMode ?? false,
      verifiedWindow: options.verifiedWindow ?? 3600_000,
      verifyRetryUnit: options.verifyRetryUnit ?? 30_000,
      maxAttemptsToDial: options.maxAttemptsToDial ?? 16,
      banTime: options.banTime ?? DEFAULT_BAN_MS,
      dialBackoffUnit: options.dialBackoffUnit ?? 1000,
      startJitter: options.startJitter ?? true,
      maxTracked: tracked,
      random: options.random ?? Math.random
    }
    this.onSeedUnusable = options.onSeedUnusable
    this.seedIds = new Set(this.o.seeds.map(s => s.replace(/^.*:\/\//, '').split('@')[0] ?? ''))
    this.verifier = this.o.seedMode && this.o.verifyAddresses
      ? new AddressVerifier({ ...options.verifier, dial: async a => await this.verifyDial(a) })
      : undefined
  }

  /** Entries in the reactor's bookkeeping maps (each bounded by maxTracked, or by the connected peers). */
  get tracked (): { requestedAt: number, dialAttempts: number, crawled: number, received: number, connectedAt: number } {
    return { requestedAt: this.requestedAt.size, dialAttempts: this.dialAttempts.size, crawled: this.crawled.size, received: this.received.size, connectedAt: this.connectedAt.size }
  }

  override start (): void {
    this.book.start()
    // Never gossip or dial ourselves (CometBFT adds its own address to the book at start too).
    try { this.book.addOurAddress(NetAddress.parse(this.switch.address)) } catch { /* listening on a name, not an IP */ }
    this.stopped = false
    const every = (ms: number, f: () => void): void => { const t = setInterval(f, ms); t.unref(); this.timers.push(t) }
    if (this.o.seedMode) {
      setImmediate(() => { void this.crawlStart() })
      every(this.o.crawlPeriod, () => { void this.crawlRound() })
      // Let go of crawled peers at least twice per hold (a short hold must not wait a crawl period).
      every(Math.max(1000, Math.min(this.o.crawlPeriod, this.o.seedDisconnectWaitPeriod / 2)), () => { this.releaseHeldPeers() })
    } else {
      const { outbound, inbound, dialing } = this.switch.numPeers()
      const jitter = this.o.startJitter && outbound + inbound + dialing > 0 ? this.o.random() * this.o.ensurePeersPeriod : 0
      const first = setTimeout(() => {
        void this.ensurePeers(true)
        every(this.o.ensurePeersPeriod, () => { void this.ensurePeers(true) })
      }, jitter)
      first.unref()
      this.timers.push(first)
    }
  }

  override async stop (): Promise<void> {
    this.stopped = true
    this.verifier?.stop()
    for (const t of this.timers) { clearTimeout(t); clearInterval(t) }
    this.timers = []
    for (const t of this.graceTimers.values()) clearTimeout(t)
    this.graceTimers.clear()
    await this.book.stop()
  }

  override addPeer (peer: Peer): void {
    this.connectedAt.set(peer.id, Date.now())
    if (peer.outbound) {
      if (this.book.needMoreAddrs() || this.o.seedMode) this.requestAddrs(peer)
    } else {
      // An inbound peer's self-reported address goes into the book, with itself as the source.
      const addr = peer.listenAddress
      if (addr !== undefined) this.book.addAddress(addr, addr)
      if (this.o.seedMode && !peer.persistent && !peer.unconditional) this.startGrace(peer)
    }
  }

  /** Seed mode: hang up on an inbound peer that has not asked for addresses in time. */
  private startGrace (peer: Peer): void {
    const timer = setTimeout(() => {
      this.graceTimers.delete(peer.id)
      if (this.received.has(peer.id) || this.switch.peers.get(peer.id) !== peer) return
      this.stats.silentDropped++
      this.switch.stopPeerForError(peer, new PexNoRequestError(peer.id, this.o.seedRequestTimeout))
    }, this.o.seedRequestTimeout)
    timer.unref()
    this.graceTimers.set(peer.id, timer)
  }

  override removePeer (peer: Peer, _reason: RemoveReason): void {
    this.requestsSent.delete(peer.id)
    this.received.delete(peer.id)
    this.connectedAt.delete(peer.id)
    // A peer that reached us told us where it listens; that is a claim until we dial it ourselves
    // (an inbound connection proves the ID, not the address), which we can do once it is gone.
    const ka = this.book.get(peer.id)
    if (this.verifier !== undefined && !this.stopped && ka !== undefined && ka.lastReached === 0 && ka.attempts === 0) this.verifier.enqueue(ka.addr)
    clearTimeout(this.graceTimers.get(peer.id))
    this.graceTimers.delete(peer.id)
  }

  override async receive ({ peer, message }: Envelope<PexMessage>): Promise<void> {
    if (message.type === 'request') await this.onRequest(peer)
    else this.onAddrs(peer, message.addrs)
  }

  /** Asks `peer` for addresses unless a request to it is outstanding. */
  requestAddrs (peer: Peer): void {
    if (this.requestsSent.has(peer.id)) return
    // Never ask closer than the interval a CometBFT peer enforces (with 10 % margin).
    const last = this.requestedAt.get(peer.id)
    if (last !== undefined && Date.now() - last < this.o.minReceiveRequestInterval * 1.1) return
    if (peer.trySend(PexChannel, { type: 'request' })) {
      this.stats.requestsSent++
      this.requestsSent.add(peer.id)
      this.requestedAt.set(peer.id, Date.now())
    }
  }

  private async onRequest (peer: Peer): Promise<void> {
    if (this.o.seedMode && !peer.outbound) {
      // Answer once, then hang up — after the answer is flushed (stopPeerGracefully).
      if (this.received.has(peer.id)) return
      this.received.set(peer.id, { count: 1, last: Date.now() })
      clearTimeout(this.graceTimers.get(peer.id))
      this.graceTimers.delete(peer.id)
      this.stats.requestsServed++
      const addrs = this.selectionToServe(true)
      this.stats.addrsServed += addrs.length
      await peer.send(PexChannel, { type: 'addrs', addrs: addrs.map(toMessage) })
      await this.switch.stopPeerGracefully(peer)
      return
    }
    const now = Date.now()
    const r = this.received.get(peer.id) ?? { count: 0, last: 0 }
    if (r.count >= 2 && now - r.last < this.o.minReceiveRequestInterval) {
      this.stats.tooSoon++
      this.punish(peer, new PexRequestTooSoonError(peer.id, now - r.last, this.o.minReceiveRequestInterval))
      return
    }
    r.count++
    r.last = now
    this.received.set(peer.id, r)
    this.stats.requestsServed++
    const addrs = this.selectionToServe(false)
    this.stats.addrsServed += addrs.length
    peer.trySend(PexChannel, { type: 'addrs', addrs: addrs.map(toMessage) })
  }

  private onAddrs (peer: Peer, addrs: Array<{ id: string, ip: string, port: number }>): void {
    if (!this.requestsSent.has(peer.id)) {
      this.stats.unsolicited++
      this.punish(peer, new PexUnsolicitedError(peer.id))
      return
    }
    this.requestsSent.delete(peer.id)
    const parsed: NetAddress[] = []
    for (const a of addrs) {
      if (net.isIP(a.ip) === 0 || !Number.isInteger(a.port) || a.port > 65535) {
        this.stats.invalid++
        this.punish(peer, new PexInvalidAddressError(peer.id, `${JSON.stringify(a.ip)} port ${a.port}`))
        return
      }
      parsed.push(new NetAddress(a.id, a.ip, a.port))
    }
    this.stats.addrsReceived += parsed.length
    const src = peer.listenAddress ?? peer.socketAddress
    for (const addr of parsed) this.book.addAddress(addr, src)
    if (this.verifier !== undefined) {
      // Verify what we just learned right away (the pool bounds and paces it).
      for (const addr of parsed) {
        const ka = this.book.get(addr.id)
        if (ka !== undefined && ka.lastReached === 0 && ka.attempts === 0) this.verifier.enqueue(ka.addr)
      }
    }
    log('%d addresses from %s; book has %d', parsed.length, peer.id, this.book.size)
    if (this.seedIds.has(peer.id)) this.wake()
  }

  /** Disconnects the peer and bans its address (CometBFT: 24 h). */
  private punish (peer: Peer, error: PexRequestTooSoonError | PexUnsolicitedError | PexInvalidAddressError): void {
    this.switch.stopPeerForError(peer, error)
    const addr = peer.listenAddress ?? peer.socketAddress
    if (!this.book.has(addr.id)) this.book.addAddress(addr, addr)
    this.book.markBad(addr, this.o.banTime)
  }

  private wake (): void {
    if (this.wakeScheduled || this.stopped) return
    this.wakeScheduled = true
    setImmediate(() => { this.wakeScheduled = false; void this.ensurePeers(false) })
  }

  /** Dials from the book until the outbound target is met; asks for more addresses when short. */
  async ensurePeers (timerTriggered: boolean): Promise<void> {
    if (this.stopped || !this.switch.isRunning) return
    this.stats.ensureRounds++
    const { outbound, dialing } = this.switch.numPeers()
    const numToDial = this.switch.maxOutboundPeers - (outbound + dialing)
    if (numToDial <= 0) return
    const newBias = Math.min(outbound, 8) * 10 + 10
    const picked = new Map<string, NetAddress>()
    for (let i = 0; i < numToDial * 3 && picked.size < numToDial; i++) {
      const a = this.book.pickAddress(newBias)
      if (a === undefined || picked.has(a.id) || a.id === this.switch.nodeKey.id || this.switch.isDialingOrConnected(a.id)) continue
      picked.set(a.id, a)
    }
    await Promise.all([...picked.values()].map(async a => { await this.dialPeer(a) }))
    if (this.book.needMoreAddrs()) this.book.reinstateBadPeers()
    if (this.book.needMoreAddrs()) {
      const peers = [...this.switch.peers.values()]
      if (timerTriggered && peers.length > 0) this.requestAddrs(peers[Math.floor(this.o.random() * peers.length)]!)
      if (picked.size === 0) await this.dialSeeds()
    }
  }

  /** Dials with per-address back-off; gives up on (and bans) an address after too many failures. */
  async dialPeer (addr: NetAddress): Promise<Peer | undefined> {
    const key = addr.dialString
    const st = this.dialAttempts.get(key) ?? { attempts: 0, lastDialed: 0 }
    const persistent = this.switch.isPersistent(addr.id)
    if (!persistent && st.attempts > this.o.maxAttemptsToDial) {
      this.book.markBad(addr, this.o.banTime)
      this.dialAttempts.delete(key)
      return undefined
    }
    if (st.attempts > 0) {
      const backoff = 2 ** st.attempts * this.o.dialBackoffUnit + this.o.random() * this.o.dialBackoffUnit
      if (Date.now() - st.lastDialed < backoff) return undefined
    }
    this.stats.dials++
    try {
      const peer = await this.switch.dial(addr, { exemptFromLimits: this.o.seedMode })
      this.dialAttempts.delete(key)
      return peer
    } catch (err) {
      const code = (err as { code?: string }).code
      if (code === 'ERR_DUPLICATE_PEER' || code === 'ERR_SWITCH_STOPPED') return undefined
      this.stats.dialFailures++
      this.book.markAttempt(addr)
      this.dialAttempts.set(key, { attempts: st.attempts + 1, lastDialed: Date.now() })
      log('dial %s failed: %s', addr.toString(), (err as Error).message)
      return undefined
    }
  }

  /** Dials the seeds in random order until one connects. */
  async dialSeeds (): Promise<boolean> {
    const seeds = [...this.o.seeds]
    for (let i = seeds.length - 1; i > 0; i--) {
      const j = Math.floor(this.o.random() * (i + 1))
      ;[seeds[i], seeds[j]] = [seeds[j]!, seeds[i]!]
    }
    for (const s of seeds) {
      try {
        if (this.switch.transport.dialsScheme(s)) {
          // A ws:// or wss:// seed: dialed as written, and kept out of the address book.
          if (this.switch.peers.has(parseStreamAddress(s).id)) return true
          await this.switch.dial(s, { exemptFromLimits: this.o.seedMode })
          return true
        }
        const addr = await resolveNetAddress(s)
        if (this.switch.peers.has(addr.id)) return true
        if (await this.dialPeer(addr) !== undefined) return true
      } catch (err) {
        log('seed %s unusable: %s', s, (err as Error).message)
        this.onSeedUnusable?.(s, err as Error)
      }
    }
    return false
  }

  // ---- seed (crawler) mode ----

  private async crawlStart (): Promise<void> {
    if (this.o.seeds.length > 0) await this.dialSeeds()
    if (this.verifier !== undefined) this.offerForVerification()
    else if (this.o.seeds.length === 0) await this.crawl(this.book.getSelection())
  }

  private async crawlRound (): Promise<void> {
    if (this.stopped || !this.switch.isRunning) return
    this.releaseHeldPeers()
    if (this.verifier !== undefined) {
      this.offerForVerification()
      return
    }
    const now = Date.now()
    await this.crawl(this.book.getSelection())
    for (const [id, t] of this.crawled) if (now - t > 24 * 3600 * 1000) this.crawled.delete(id)
  }

  /** Lets go of peers held longer than the crawl hold (not persistent ones). */
  private releaseHeldPeers (): void {
    if (this.stopped || !this.switch.isRunning) return
    const now = Date.now()
    for (const p of this.switch.peers.values()) {
      const since = this.connectedAt.get(p.id)
      if (!p.persistent && since !== undefined && now - since >= this.o.seedDisconnectWaitPeriod) void this.switch.stopPeerGracefully(p)
    }
  }

  /** What a PexRequest gets: verified addresses only when serveVerifiedOnly, else CometBFT's selections. */
  private selectionToServe (seedAnswer: boolean): NetAddress[] {
    if (this.o.serveVerifiedOnly) return this.book.getVerifiedSelection(this.o.verifiedWindow)
    return seedAnswer ? this.book.getSelectionWithBias(SELECTION_BIAS_SEED) : this.book.getSelection()
  }

  /** Addresses known / ever reached / reached within the window, and how many answers served. */
  verificationStats (): { known: number, verified: number, fresh: number, served: number, queued: number } {
    const c = this.book.verificationCounts(this.o.verifiedWindow)
    return { ...c, served: this.stats.addrsServed, queued: this.verifier?.size ?? 0 }
  }

  /** For /net_info: the counts, the pool's work, and how long ago verified addresses were last reached. */
  verificationSummary (): Record<string, unknown> {
    return {
      serve_verified_only: this.o.serveVerifiedOnly,
      window_s: Math.round(this.o.verifiedWindow / 1000),
      crawl_hold_s: Math.round(this.o.seedDisconnectWaitPeriod / 1000),
      ...this.verificationStats(),
      pool: this.verifier?.stats ?? null,
      age_s: reachedAges(this.book.entries(), Date.now())
    }
  }

  private offerForVerification (): void {
    this.verifier!.offerDue(this.book.entries(), { now: Date.now(), windowMs: this.o.verifiedWindow, retryUnitMs: this.o.verifyRetryUnit, random: this.o.random })
  }

  /** One verification dial: a handshake there is the proof (the Switch calls book.markGood). */
  private async verifyDial (addr: NetAddress): Promise<boolean | undefined> {
    if (this.stopped || !this.switch.isRunning) return undefined
    if (addr.id === this.switch.nodeKey.id || this.switch.isDialingOrConnected(addr.id)) return undefined
    const failuresBefore = this.book.get(addr.id)?.failures ?? 0
    const peer = await this.dialPeer(addr)
    if (peer === undefined) return (this.book.get(addr.id)?.failures ?? 0) > failuresBefore ? false : undefined
    this.requestAddrs(peer)
    return true
  }

  private async crawl (addrs: NetAddress[]): Promise<void> {
    for (const a of addrs) {
      if (this.stopped) return
      const last = this.crawled.get(a.id)
      if (last !== undefined && Date.now() - last < this.o.minTimeBetweenCrawls) continue
      this.crawled.set(a.id, Date.now())
      if (a.id === this.switch.nodeKey.id || this.switch.isDialingOrConnected(a.id)) continue
      const peer = await this.dialPeer(a)
      if (peer !== undefined) this.requestAddrs(peer)
    }
  }
}

function toMessage (a: NetAddress): { id: string, ip: string, port: number } {
  return { id: a.id, ip: a.ip, port: a.port }
}
