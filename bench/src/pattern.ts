/**
 * What the benchmarks send and how the receiver checks it: a seeded pseudo-random stream of
 * `period` bytes repeated; the receiver compares every byte it gets with the stream at its offset
 * (Buffer.compare over ranges: no copies, no allocations), so a lost, duplicated, reordered or
 * corrupted byte fails the run.
 */
export function pattern (period: number, seed: number): Buffer {
  const buf = Buffer.allocUnsafe(period)
  let x = seed >>> 0 || 1
  for (let i = 0; i < period; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0
    buf[i] = x & 0xff
  }
  return buf
}

/** The period for messages of `size` bytes: a whole number of messages, about 4 MiB. */
export function periodFor (size: number): number {
  return size * Math.max(1, Math.floor((4 << 20) / size))
}

export class Verifier {
  received = 0
  mismatches = 0
  private readonly stream: Buffer

  constructor (stream: Buffer) {
    this.stream = stream
  }

  check (data: Uint8Array): void {
    const s = this.stream
    const d = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length)
    let at = this.received % s.length
    let i = 0
    while (i < d.length) {
      const n = Math.min(d.length - i, s.length - at)
      if (s.compare(d, i, i + n, at, at + n) !== 0) this.mismatches++
      i += n
      at = 0
    }
    this.received += d.length
  }
}
