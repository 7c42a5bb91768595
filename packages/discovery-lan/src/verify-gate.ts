/**
 * Decides which announcements get a signature check, so that checking costs a bounded share of a
 * core whatever arrives, and so that a forger cannot silence a genuine node.
 *
 * - Duplicates and replays are dropped for free: a node's timestamps only go forward, so an
 *   announcement no newer than the last one verified for that ID (the second copy in "both" mode,
 *   a replay from anywhere) is not checked again.
 * - Two lanes, each with its own global budget of checks per second. The known lane is for
 *   (source IP, node ID) pairs that have already passed a check; each pair is limited on its own.
 *   Everything else shares the unknown lane, limited per source IP. A flood of forged sources or
 *   IDs exhausts only the unknown lane, and garbage sent with a genuine node's source IP but
 *   another ID lands in the unknown lane too, leaving the genuine pair's budget untouched.
 * - A pair enters the known lane only after its signature verified ("charged per identity after
 *   verification"), so nobody can claim a lane slot without the key.
 */
import { SourceLimiter } from './source-limiter.js'

export type GateRefusal = 'duplicate' | 'replay' | 'rate-limited' | 'over-budget'

export interface VerifyGateOptions {
  /** Checks per second for known (IP, ID) pairs, all pairs together (default 100). */
  knownPerSecond?: number
  /**
   * Checks per second for everything else together (default 20). A forged check costs up to
   * ~350 µs (a random "key" fails to import), so 20/s is under 1 % of a core.
   */
  unknownPerSecond?: number
  /** Per known pair: rate per second and burst (default 5/s, burst 10). */
  perPairRate?: number
  perPairBurst?: number
  /** Per source IP in the unknown lane: rate per second and burst (default 2/s, burst 5). */
  perSourceRate?: number
  perSourceBurst?: number
  /** Pairs, sources and IDs remembered, each (default 1024; least recent forgotten first). */
  maxSources?: number
  /** A last-seen timestamp older than this no longer blocks older announcements (clock steps back). */
  maxClockSkew?: number
  now?: () => number
}

/** A single token bucket (the global budget of a lane). */
class Bucket {
  private tokens: number
  private last: number
  constructor (private readonly rate: number, private readonly burst: number, private readonly now: () => number) {
    this.tokens = burst
    this.last = now()
  }

  private refill (): void {
    const t = this.now()
    this.tokens = Math.min(this.burst, this.tokens + (t - this.last) * this.rate / 1000)
    this.last = t
  }

  has (): boolean { this.refill(); return this.tokens >= 1 }
  take (): void { this.refill(); this.tokens-- }
}

export class VerifyGate {
  private readonly known: SourceLimiter
  private readonly unknownSources: SourceLimiter
  private readonly knownBudget: Bucket
  private readonly unknownBudget: Bucket
  /** Source IPs with a verified announcement; bounded, least recent first out. */
  private readonly knownIps = new Map<string, true>()
  /** node ID → last verified timestamp and when we saw it; bounded, least recent first out. */
  private readonly lastVerified = new Map<string, { ts: number, at: number }>()
  private readonly maxSources: number
  private readonly maxClockSkew: number
  private readonly now: () => number

  constructor (o: VerifyGateOptions = {}) {
    this.now = o.now ?? (() => performance.now())
    this.maxSources = o.maxSources ?? 1024
    this.maxClockSkew = o.maxClockSkew ?? 5 * 60_000
    this.known = new SourceLimiter(o.perPairRate ?? 5, o.perPairBurst ?? 10, this.maxSources, this.now)
    this.unknownSources = new SourceLimiter(o.perSourceRate ?? 2, o.perSourceBurst ?? 5, this.maxSources, this.now)
    const known = o.knownPerSecond ?? 100
    const unknown = o.unknownPerSecond ?? 20
    this.knownBudget = new Bucket(known, known, this.now)
    this.unknownBudget = new Bucket(unknown, unknown, this.now)
  }

  /** Entries held by the per-source and per-pair limiters (each bounded by maxSources). */
  get sourcesTracked (): number { return this.unknownSources.size }
  get pairsTracked (): number { return this.known.size }

  private static pair (ip: string, id: string): string { return `${ip} ${id}` }

  /**
   * Before even decoding: a datagram from an IP that never sent a verified announcement cannot
   * be checked while the unknown lane (or that IP's bucket) is empty, so it is dropped unread.
   * Under a flood this keeps the cost per forged datagram to little more than receiving it.
   */
  refuseUnread (ip: string): GateRefusal | undefined {
    if (this.knownIps.has(ip)) return undefined
    if (!this.unknownBudget.has()) return 'over-budget'
    if (!this.unknownSources.has(ip)) return 'rate-limited'
    return undefined
  }

  /** Whether to verify an announcement claiming `id` at `timestampMs`, heard from `ip`. */
  admit (ip: string, id: string, timestampMs: number): 'ok' | GateRefusal {
    const last = this.lastVerified.get(id)
    if (last !== undefined && this.now() - last.at <= this.maxClockSkew) {
      if (timestampMs === last.ts) return 'duplicate'
      if (timestampMs < last.ts) return 'replay'
    }
    const pair = VerifyGate.pair(ip, id)
    if (this.known.knows(pair)) {
      if (!this.known.has(pair)) return 'rate-limited'
      if (!this.knownBudget.has()) return 'over-budget'
      this.known.allow(pair)
      this.knownBudget.take()
      return 'ok'
    }
    if (!this.unknownSources.has(ip)) return 'rate-limited'
    if (!this.unknownBudget.has()) return 'over-budget'
    this.unknownSources.allow(ip)
    this.unknownBudget.take()
    return 'ok'
  }

  /** Records a verified announcement: its pair joins the known lane, its timestamp the replay guard. */
  verified (ip: string, id: string, timestampMs: number): void {
    this.lastVerified.delete(id)
    if (this.lastVerified.size >= this.maxSources) this.lastVerified.delete(this.lastVerified.keys().next().value!)
    this.lastVerified.set(id, { ts: timestampMs, at: this.now() })
    this.known.touch(VerifyGate.pair(ip, id))
    this.knownIps.delete(ip)
    if (this.knownIps.size >= this.maxSources) this.knownIps.delete(this.knownIps.keys().next().value!)
    this.knownIps.set(ip, true)
  }
}
