/**
 * What the benchmarks send and how the receiver checks it: a seeded pseudo-random stream that
 * repeats every PATTERN_PERIOD bytes. The receiver compares every byte it gets with the stream at
 * its offset (Buffer.compare over ranges: memcmp, no copies, no allocations), so a lost,
 * duplicated, reordered or corrupted byte fails the run. The same Verifier checks every transport.
 *
 * The period is a prime: no whole number of messages, frames or packets spans it, so a chunk that
 * is dropped, repeated or delivered out of place shifts what follows against the pattern instead
 * of lining up with an identical copy of itself.
 */
export const PATTERN_PERIOD = 4_194_301 // 2^22 − 3, prime

/**
 * The stream's bytes: PATTERN_PERIOD bytes, then the first `slack` of them again, so that any
 * message of up to `slack` bytes is one contiguous view whatever offset it starts at.
 */
export function pattern (slack: number, seed: number, period = PATTERN_PERIOD): Buffer {
  if (!(slack >= 0 && slack <= period)) throw new RangeError(`slack must be 0..${period}, got ${slack}`)
  const buf = Buffer.allocUnsafe(period + slack)
  let x = seed >>> 0 || 1
  for (let i = 0; i < period; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0
    buf[i] = x & 0xff
  }
  buf.copy(buf, period, 0, slack)
  return buf
}

/** Hands out consecutive `size`-byte views of a pattern (what a sender sends, in order). */
export class PatternSource {
  private at = 0
  private readonly bytes: Buffer
  private readonly period: number

  constructor (readonly size: number, seed: number, period = PATTERN_PERIOD) {
    this.bytes = pattern(size, seed, period)
    this.period = period
  }

  next (): Buffer {
    const m = this.bytes.subarray(this.at, this.at + this.size)
    this.at += this.size
    if (this.at >= this.period) this.at -= this.period
    return m
  }
}

export class Verifier {
  received = 0
  mismatches = 0
  /** Offset in the period of the next expected byte. */
  private at = 0
  private readonly bytes: Buffer
  private readonly period: number

  constructor (seed: number, period = PATTERN_PERIOD) {
    this.bytes = pattern(0, seed, period)
    this.period = period
  }

  /** Compares `data` with the stream where the last call left off; counts pieces that differ. */
  check (data: Uint8Array): void {
    const s = this.bytes
    const d = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length)
    let at = this.at
    let i = 0
    while (i < d.length) {
      const n = Math.min(d.length - i, this.period - at)
      if (s.compare(d, i, i + n, at, at + n) !== 0) this.mismatches++
      i += n
      at += n
      if (at === this.period) at = 0
    }
    this.at = at
    this.received += d.length
  }
}
