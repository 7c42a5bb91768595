/**
 * The verification pool of a seed: addresses the crawler learns are dialed before they are served.
 * Bounded (a fixed number of queued addresses, a fixed number of dials in flight) and rate-limited
 * (dials started per second), so a flood of gossiped addresses costs a known amount of work and
 * never turns the seed into a dialing cannon. What a dial proved is recorded by the book (markGood
 * on a handshake, markAttempt on a failure); the pool only schedules.
 */
import createDebug from 'debug'
import PQueue from 'p-queue'
import type { NetAddress } from '@switchyard/p2p'
import type { KnownAddress } from './addr-book.js'

const log = createDebug('switchyard:pex:verifier')

export interface AddressVerifierOptions {
  /** Dials one address: true when a handshake there proved its ID, false when it failed, undefined when skipped. */
  dial: (addr: NetAddress) => Promise<boolean | undefined>
  /** Dials in flight at once (default 8). */
  concurrency?: number
  /** Dials started per second at most (default 10). */
  ratePerSecond?: number
  /** Addresses waiting at most; beyond it new ones are dropped until there is room (default 4096). */
  maxQueued?: number
  /**
   * Addresses of one IP queued or in flight at most (default 4), so that gossip naming many ports
   * of one host cannot aim the seed's dials at it.
   */
  maxPerIp?: number
}

export interface VerifierStats {
  enqueued: number
  /** Not queued because the queue, or that IP's share of it, was full (they stay in the book and are offered again later). */
  dropped: number
  reached: number
  failed: number
  /** Not dialed after all (already connected, or we are stopping). */
  skipped: number
}

export class AddressVerifier {
  readonly stats: VerifierStats = { enqueued: 0, dropped: 0, reached: 0, failed: 0, skipped: 0 }
  private readonly queue: PQueue
  private readonly pending = new Set<string>()
  private readonly perIp = new Map<string, number>()
  private readonly maxPerIp: number
  private readonly dial: (addr: NetAddress) => Promise<boolean | undefined>
  private readonly maxQueued: number

  constructor (options: AddressVerifierOptions) {
    this.dial = options.dial
    this.maxQueued = options.maxQueued ?? 4096
    this.maxPerIp = options.maxPerIp ?? 4
    const rate = options.ratePerSecond ?? 10
    if (!(rate > 0)) throw new RangeError('ratePerSecond must be positive')
    // r per second: r starts per 1 s window, or below 1/s one start per 1/r s.
    this.queue = new PQueue({ concurrency: options.concurrency ?? 8, intervalCap: rate >= 1 ? Math.round(rate) : 1, interval: rate >= 1 ? 1000 : 1000 / rate })
  }

  /** Addresses queued or being dialed. */
  get size (): number { return this.pending.size }

  get full (): boolean { return this.pending.size >= this.maxQueued }

  /** Queues `addr` unless its ID is already queued or the pool is full; false when not queued. */
  enqueue (addr: NetAddress): boolean {
    if (this.pending.has(addr.id)) return false
    const ofIp = this.perIp.get(addr.ip) ?? 0
    if (this.pending.size >= this.maxQueued || ofIp >= this.maxPerIp) { this.stats.dropped++; return false }
    this.pending.add(addr.id)
    this.perIp.set(addr.ip, ofIp + 1)
    this.stats.enqueued++
    void this.queue.add(async () => {
      try {
        const ok = await this.dial(addr)
        this.stats[ok === undefined ? 'skipped' : ok ? 'reached' : 'failed']++
      } catch (err) {
        this.stats.failed++
        log('verifying %s: %s', addr.toString(), (err as Error).message)
      } finally {
        this.pending.delete(addr.id)
        const left = (this.perIp.get(addr.ip) ?? 1) - 1
        if (left > 0) this.perIp.set(addr.ip, left)
        else this.perIp.delete(addr.ip)
      }
    })
    return true
  }

  /** Offers the due entries, in random order, until the pool is full (the rest waits for the next round). */
  offerDue (entries: KnownAddress[], o: DueOptions & { random: () => number }): void {
    for (let i = entries.length - 1; i > 0; i--) {
      const j = Math.floor(o.random() * (i + 1))
      ;[entries[i], entries[j]] = [entries[j]!, entries[i]!]
    }
    for (const ka of entries) {
      if (this.full) break
      if (dueForVerification(ka, o)) this.enqueue(ka.addr)
    }
  }

  /** Resolves when nothing is queued or in flight (for tests and benchmarks). */
  async idle (): Promise<void> { await this.queue.onIdle() }

  /** Drops everything queued; dials in flight finish (the Switch's stop aborts them). */
  stop (): void {
    this.queue.clear()
    this.pending.clear()
    this.perIp.clear()
  }
}

export interface DueOptions { now: number, windowMs: number, retryUnitMs: number }

/**
 * Due for a (re)verification: never tried; reached, but over half a window ago; or failed and past
 * its back-off (retryUnit, doubling per consecutive failure, capped at the window).
 */
export function dueForVerification (ka: KnownAddress, { now, windowMs, retryUnitMs }: DueOptions): boolean {
  if (ka.attempts === 0) return ka.lastReached === 0 || now - ka.lastReached >= windowMs / 2
  const backoff = Math.min(windowMs, retryUnitMs * 2 ** Math.min(ka.attempts - 1, 20))
  return now - ka.lastAttempt >= backoff
}

/** Seconds since verified entries were last reached: newest, median, oldest (null when none). */
export function reachedAges (entries: KnownAddress[], now: number): { newest: number, median: number, oldest: number } | null {
  const ages = entries.filter(ka => ka.lastReached > 0).map(ka => Math.max(0, Math.round((now - ka.lastReached) / 1000))).sort((x, y) => x - y)
  return ages.length === 0 ? null : { newest: ages[0]!, median: ages[Math.floor(ages.length / 2)]!, oldest: ages[ages.length - 1]! }
}
