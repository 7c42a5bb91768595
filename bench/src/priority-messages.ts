/**
 * Messages of the priority-under-load benchmark (priority.ts), shared by the sender and the
 * receivers (priority-receiver.ts here, prio_sink.go in interop/cometbft-peer):
 * - urgent, on a high-priority channel: 100 bytes = u32 LE sequence, f64 LE send time in ms on the
 *   host's monotonic clock (CLOCK_MONOTONIC, same in every process), then the sequence's low byte repeated;
 * - bulk, on a low-priority channel: 64 KiB = u32 LE sequence, then bulkPattern[4..].
 * Receivers check sequences arrive in order with nothing missing and every byte is as sent.
 */
export const HIGH = 0x20
export const LOW = 0x30
export const HIGH_SIZE = 100
export const BULK_SIZE = 64 * 1024

export const channels = [
  { id: HIGH, priority: 10, sendQueueCapacity: 64, recvMessageCapacity: 1 << 20 },
  { id: LOW, priority: 1, sendQueueCapacity: 16, recvMessageCapacity: 1 << 20 }
]

export const bulkPattern: Buffer = (() => {
  const b = Buffer.allocUnsafe(BULK_SIZE)
  for (let i = 0; i < BULK_SIZE; i++) b[i] = (i * 31 + 7) & 0xff
  return b
})()

/**
 * The machine's monotonic clock (CLOCK_MONOTONIC) in ms: one clock for every process on the host,
 * unlike performance.timeOrigin, which differed by ~2 ms between two Node processes here.
 */
export function wallMs (): number {
  return Number(process.hrtime.bigint()) / 1e6
}

export function urgentMessage (seq: number): Buffer {
  const b = Buffer.alloc(HIGH_SIZE, seq & 0xff)
  b.writeUInt32LE(seq, 0)
  b.writeDoubleLE(wallMs(), 4)
  return b
}

export function bulkMessage (seq: number): Buffer {
  const b = Buffer.allocUnsafe(BULK_SIZE)
  bulkPattern.copy(b)
  b.writeUInt32LE(seq, 0)
  return b
}

/** Per-connection tally a receiver keeps and reports. */
export interface ReceiverReport {
  highCount: number
  lowCount: number
  /** Bulk bytes that arrived between the first and the last urgent message. */
  lowBytesInWindow: number
  windowMs: number
  /** One-way latencies of urgent messages, ms. */
  latencies: number[]
  errors: string[]
}

export class Tally {
  private nextHigh = 0
  private nextLow = 0
  private firstHighAt = 0
  private lastHighAt = 0
  private lowAtFirstHigh = 0
  private lowBytes = 0
  private lowBytesAtLastHigh = 0
  readonly latencies: number[] = []
  readonly errors: string[] = []

  onMessage (ch: number, data: Uint8Array): void {
    const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    if (ch === HIGH) {
      const now = wallMs()
      if (b.length !== HIGH_SIZE) return this.error(`urgent message of ${b.length} bytes`)
      const seq = b.readUInt32LE(0)
      if (seq !== this.nextHigh) return this.error(`urgent message ${seq} where ${this.nextHigh} was due`)
      for (let i = 12; i < HIGH_SIZE; i++) if (b[i] !== (seq & 0xff)) return this.error(`urgent message ${seq} corrupted at byte ${i}`)
      this.nextHigh++
      this.latencies.push(now - b.readDoubleLE(4))
      if (this.firstHighAt === 0) { this.firstHighAt = now; this.lowAtFirstHigh = this.lowBytes }
      this.lastHighAt = now
      this.lowBytesAtLastHigh = this.lowBytes
    } else if (ch === LOW) {
      if (b.length !== BULK_SIZE) return this.error(`bulk message of ${b.length} bytes`)
      const seq = b.readUInt32LE(0)
      if (seq !== this.nextLow) return this.error(`bulk message ${seq} where ${this.nextLow} was due`)
      if (b.compare(bulkPattern, 4, BULK_SIZE, 4, BULK_SIZE) !== 0) return this.error(`bulk message ${seq} corrupted`)
      this.nextLow++
      this.lowBytes += b.length
    } else {
      this.error(`message on unexpected channel ${ch}`)
    }
  }

  report (): ReceiverReport {
    return {
      highCount: this.nextHigh,
      lowCount: this.nextLow,
      lowBytesInWindow: this.lowBytesAtLastHigh - this.lowAtFirstHigh,
      windowMs: this.lastHighAt - this.firstHighAt,
      latencies: this.latencies,
      errors: this.errors.slice(0, 10)
    }
  }

  private error (what: string): void {
    if (this.errors.length < 100) this.errors.push(what)
  }
}

export function quantile (xs: number[], q: number): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!
}
