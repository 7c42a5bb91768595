/**
 * Per-source rate limiting with bounded memory: a token bucket per source IP, at most `maxSources`
 * of them (the least recently seen is forgotten first), so a flood from many addresses cannot grow
 * the map.
 */
export class SourceLimiter {
  private readonly buckets = new Map<string, { tokens: number, last: number }>()
  private readonly rate: number
  private readonly burst: number
  private readonly maxSources: number
  private readonly now: () => number

  constructor (perSecond: number, burst: number, maxSources: number, now: () => number = () => performance.now()) {
    this.rate = perSecond
    this.burst = burst
    this.maxSources = maxSources
    this.now = now
  }

  get size (): number { return this.buckets.size }

  /** Whether `source` has a bucket (was seen and not yet forgotten). */
  knows (source: string): boolean { return this.buckets.has(source) }

  /** Makes sure `source` has a bucket (a full one if new), as most recently seen. */
  touch (source: string): void {
    if (this.buckets.has(source)) return
    if (this.buckets.size >= this.maxSources) this.buckets.delete(this.buckets.keys().next().value!)
    this.buckets.set(source, { tokens: this.burst, last: this.now() })
  }

  /** Whether `source` has a token now, without taking it. */
  has (source: string): boolean {
    const b = this.buckets.get(source)
    return b === undefined || Math.min(this.burst, b.tokens + (this.now() - b.last) * this.rate / 1000) >= 1
  }

  /** Whether one more datagram from `source` is allowed now (takes a token if so). */
  allow (source: string): boolean {
    const now = this.now()
    let b = this.buckets.get(source)
    if (b === undefined) {
      if (this.buckets.size >= this.maxSources) this.buckets.delete(this.buckets.keys().next().value!)
      b = { tokens: this.burst, last: now }
    } else {
      this.buckets.delete(source) // re-insert: Map order is our recency order
      b.tokens = Math.min(this.burst, b.tokens + (now - b.last) * this.rate / 1000)
      b.last = now
    }
    this.buckets.set(source, b)
    if (b.tokens < 1) return false
    b.tokens--
    return true
  }
}
