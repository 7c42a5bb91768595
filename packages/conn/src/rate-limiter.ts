/**
 * A token bucket that may go into debt: a send or receive is never split to fit the budget, the
 * debt is paid by waiting. This is smooth (no 100 ms sampling windows as in CometBFT's flowrate)
 * and never sleeps inside the I/O path: callers ask how long to wait and schedule a timer.
 * A rate of 0 (or Infinity) turns limiting off.
 */
export class RateLimiter {
  readonly rate: number
  private readonly burst: number
  private tokens: number
  private last: number

  constructor (bytesPerSecond: number, burstSeconds = 0.1) {
    if (!(bytesPerSecond >= 0)) throw new RangeError(`rate must be >= 0 bytes/s, got ${bytesPerSecond}`)
    this.rate = bytesPerSecond === 0 ? Infinity : bytesPerSecond
    this.burst = this.rate * burstSeconds
    this.tokens = this.burst
    this.last = performance.now()
  }

  get unlimited (): boolean {
    return this.rate === Infinity
  }

  /** Bytes that may be spent now (may be fractional; ≤ 0 means wait). */
  available (): number {
    if (this.unlimited) return Infinity
    const now = performance.now()
    this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.rate / 1000)
    this.last = now
    return this.tokens
  }

  spend (bytes: number): void {
    if (!this.unlimited) this.tokens -= bytes
  }

  /** Milliseconds until the balance is positive again (0 when it already is). */
  waitMs (): number {
    const t = this.available()
    return t > 0 ? 0 : Math.ceil((-t + 1) * 1000 / this.rate)
  }
}
