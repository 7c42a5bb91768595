/**
 * SendPacer: keeps the bytes queued below an MConnection (stream buffers, both kernels, the peer's
 * reader) small, so that the scheduler's priorities decide what the peer gets next instead of
 * whatever was queued first. The wire does not change: it only decides how many bytes may be
 * written, and when a ping is worth sending.
 *
 * Every CometBFT peer answers a ping with a pong as soon as its reader reaches the ping, so a pong
 * proves the peer has read every byte written before its ping. That gives two readings at once:
 * - bytes in flight = bytes written − the offset of the last answered ping (exact, all layers);
 * - queuing delay = ping round trip − the least round trip seen lately (the empty-path floor).
 * The window (most bytes in flight) moves multiplicatively towards the size at which the round trip
 * sits at floor + targetDelay: grown only while it was what held sending back (and never beyond
 * twice the recent delivery rate times that round trip), shrunk whenever the round trip is above
 * target. Only one ping is ever outstanding (peers may answer two pings with one
 * pong), and pings are sent only while at least half a window is in flight, i.e. while busy.
 *
 * A busy link's pings always have some of our bytes ahead of them, so the floor would creep up with
 * our own queue (and the window with it). Every floorCheckMs of busy sending the pacer therefore
 * holds data for one round trip, until everything sent is acknowledged, and sends a ping with
 * nothing ahead of it: a clean reading of the floor for a few ms of sending.
 *
 * The pacer never holds pings or pongs: keep-alive stays in charge of a peer that stops answering.
 */

export interface SendPacerOptions {
  /** Queuing delay aimed for, in ms, on top of the empty-path round trip (default 2). */
  targetDelayMs?: number
  /** Window the pacer starts with, in bytes (default 64 KiB). */
  initialWindow?: number
  /** Smallest window, in bytes (default 4 KiB): a slow peer (CometBFT reads ~5 MB/s) needs little. */
  minWindow?: number
  /** Largest window, in bytes (default 8 MiB). */
  maxWindow?: number
  /** How long the round-trip floor remembers a minimum, in ms (default 10 s). */
  floorMemoryMs?: number
  /** Busy time after which the floor is re-measured on an empty path, in ms (default 2 s). */
  floorCheckMs?: number
}

export interface SendPacerStatus {
  window: number
  inFlight: number
  /** Least round trip in the floor's memory, ms (NaN until a pong arrived). */
  floorRttMs: number
  /** The last round trip measured, ms (NaN until a pong arrived). */
  lastRttMs: number
  pongs: number
  /** Times the window held data back. */
  limitedEvents: number
}

const FLOOR_BUCKETS = 10
/**
 * The window reacts to the median of the last few round trips (at most CURRENT_MS old): a queue of
 * ours delays every ping, a busy machine (the peer or this process not scheduled for a while) only
 * some, in either direction. The age limit keeps a real slowdown from hiding behind old samples.
 */
const CURRENT_SAMPLES = 5
/** Delivery-rate samples: pongs closer than this count (a busy link); the best of the last second. */
const RATE_GAP_MS = 100
const RATE_BUCKETS = 10
const RATE_BUCKET_MS = 100
const CURRENT_MS = 50
/** In flight at most this much when a ping leaves, its round trip is the floor's. */
const CLEAN_BYTES = 2048
/** Per batch: how fast the remembered batch duration decays towards the current one. */
const OWN_BATCH_DECAY = 0.9

/** normal; draining: data held until a ping sent after the last byte returns; measuring: a clean ping is out. */
type FloorCheck = 'normal' | 'draining' | 'measuring'
/** Exponent applied to the target/rtt ratio: damps the reaction to one noisy sample. */
const GAIN = 0.5
const MAX_STEP = 2

export class SendPacer {
  readonly targetDelayMs: number
  readonly minWindow: number
  readonly maxWindow: number
  private readonly floorBucketMs: number
  private readonly floorCheckMs: number
  private check: FloorCheck = 'normal'
  private lastCleanAt = -Infinity
  private win: number
  /** Stream offset the peer has certainly read (that of the last answered ping). */
  private acked = 0
  private probeOffset = -1
  private probeSent = 0
  private limitedDuringProbe = false
  /** Bytes in flight when the outstanding ping left: did it measure a queue of ours? */
  private probeInFlight = 0
  private lastRtt = NaN
  private pongs = 0
  private limitedEvents = 0
  /** Minimum round trip per time bucket, newest last; at most FLOOR_BUCKETS entries. */
  private readonly floor: Array<{ start: number, min: number }> = []
  private readonly recent: Array<{ at: number, rtt: number }> = []
  /**
   * Bytes acknowledged and the busy time they took, per RATE_BUCKET_MS, newest last; at most
   * RATE_BUCKETS entries. bytes / ms is the peer's sustained reading rate in that bucket: a sum, not
   * a per-pong reading, because one pong read late and the next on time makes a spike several
   * times the real rate, and a cap set by spikes let multi-megabyte windows through.
   */
  private readonly rates: Array<{ start: number, bytes: number, ms: number }> = []
  private lastPongAt = -Infinity
  /** How long our own recent batches took to build and hand on, ms (decaying maximum). */
  private ownBatchMs = 0

  constructor (options: SendPacerOptions = {}) {
    const o = {
      targetDelayMs: options.targetDelayMs ?? 2,
      initialWindow: options.initialWindow ?? 64 * 1024,
      minWindow: options.minWindow ?? 4 * 1024,
      maxWindow: options.maxWindow ?? 8 * 1024 * 1024,
      floorMemoryMs: options.floorMemoryMs ?? 10_000,
      floorCheckMs: options.floorCheckMs ?? 2000
    }
    for (const [k, v] of Object.entries(o)) {
      if (!(typeof v === 'number' && v > 0 && Number.isFinite(v))) throw new RangeError(`pacing option ${k} must be a finite number > 0, got ${String(v)}`)
    }
    if (o.minWindow > o.maxWindow) throw new RangeError(`pacing option minWindow (${o.minWindow}) must not exceed maxWindow (${o.maxWindow})`)
    this.targetDelayMs = o.targetDelayMs
    this.minWindow = o.minWindow
    this.maxWindow = o.maxWindow
    this.floorBucketMs = o.floorMemoryMs / FLOOR_BUCKETS
    this.floorCheckMs = o.floorCheckMs
    this.win = Math.min(o.maxWindow, Math.max(o.minWindow, o.initialWindow))
  }

  get window (): number {
    return this.win
  }

  /** Whether a ping is outstanding (sent, no pong yet). */
  get probing (): boolean {
    return this.probeOffset >= 0
  }

  /**
   * Bytes that may be written now, given `sent` bytes written so far (≤ 0: wait for a pong). Stops
   * short at half a window when a ping is due there: a ping at the very end of a full window would
   * leave the peer nothing to read while its pong travels back.
   */
  allowance (sent: number): number {
    if (this.check === 'draining') return 0
    const room = this.acked + this.win - sent
    const probeAt = this.acked + this.win / 2
    return this.probeOffset < 0 && sent < probeAt ? Math.min(room, Math.ceil(probeAt - sent)) : room
  }

  /** Whether a ping should go out with the next write: none outstanding and half a window in flight. */
  wantsProbe (sent: number): boolean {
    return this.probeOffset < 0 && (this.check !== 'normal' || sent - this.acked >= this.win / 2)
  }

  /** A ping was written at stream offset `offset` (bytes written before it). */
  pingSent (offset: number, now: number): void {
    if (this.probeOffset >= 0) return // the earlier ping's pong will answer for both
    this.probeOffset = offset
    this.probeSent = now
    this.probeInFlight = offset - this.acked
    this.limitedDuringProbe = false
  }

  /**
   * A batch took `ms` to build, seal and hand on. A sender slower than its path (a browser tab
   * sealing in JavaScript) hands the peer a batch per `ms` at best, so the rate cap below must let
   * at least that much be in flight, or the sender's own pace would cap its window ever lower.
   */
  batchTook (ms: number): void {
    this.ownBatchMs = Math.max(ms, this.ownBatchMs * OWN_BATCH_DECAY)
  }

  /** The window held back data that was ready to go. */
  limited (): void {
    if (!this.limitedDuringProbe) this.limitedEvents++
    this.limitedDuringProbe = true
  }

  /** When the outstanding ping (or the last one) left, on the clock given to pingSent. */
  get probeSentAt (): number {
    return this.probeSent
  }

  /**
   * A pong arrived: the peer has read everything before the outstanding ping. `ownDelayMs` is how
   * long the pong may have waited behind our own work before being read (it is not the peer's
   * queue, so it is not counted in the round trip). Returns the round trip counted.
   */
  pongReceived (now: number, ownDelayMs = 0): number {
    if (this.probeOffset < 0) return NaN // unsolicited: proves nothing about our bytes
    const rtt = Math.max(0, now - this.probeSent - Math.max(0, ownDelayMs))
    if (now - this.lastPongAt < RATE_GAP_MS && now > this.lastPongAt) this.updateRate(this.probeOffset - this.acked, now - this.lastPongAt, now)
    this.lastPongAt = now
    this.acked = Math.max(this.acked, this.probeOffset)
    this.probeOffset = -1
    this.pongs++
    this.lastRtt = rtt
    const floor = this.updateFloor(rtt, now)
    if (this.probeInFlight <= CLEAN_BYTES) this.lastCleanAt = now
    if (this.check !== 'normal') {
      // The draining ping's pong: all is read, the next ping (sent at once) is clean.
      this.check = this.check === 'draining' ? 'measuring' : 'normal'
      return rtt
    }
    if (this.limitedDuringProbe && now - this.lastCleanAt >= this.floorCheckMs) {
      this.check = 'draining'
      return rtt
    }
    // A ping with little of ours ahead of it measured the path's noise, not our queue.
    if (!this.limitedDuringProbe && this.probeInFlight < this.win / 2) return rtt
    this.recent.push({ at: now, rtt })
    while (this.recent.length > CURRENT_SAMPLES || now - this.recent[0]!.at > CURRENT_MS) this.recent.shift()
    const target = floor + this.targetDelayMs
    const rtts = this.recent.map(r => r.rtt).sort((a, b) => a - b)
    const mid = rtts.length % 2 === 1 ? rtts[rtts.length >> 1]! : (rtts[rtts.length / 2 - 1]! + rtts[rtts.length / 2]!) / 2
    let factor = target / Math.max(mid, 1e-3)
    // Growing a window that was not full would only let a later burst queue up unchecked.
    if (factor > 1 && !this.limitedDuringProbe) factor = 1
    factor = Math.min(MAX_STEP, Math.max(1 / MAX_STEP, factor ** GAIN))
    // Never more than twice what the peer was seen to read in a target's time (plus one of our own
    // batches): a window grown in a quiet spell would otherwise be dumped into the kernel the moment
    // the peer stalls.
    const rateCap = this.rates.length === 0 ? Infinity : 2 * this.sustainedRate() * (target + this.ownBatchMs)
    this.win = Math.round(Math.min(this.maxWindow, rateCap, Math.max(this.minWindow, this.win * factor)))
    this.win = Math.max(this.minWindow, this.win)
    return rtt
  }

  private updateRate (bytes: number, ms: number, now: number): void {
    const last = this.rates[this.rates.length - 1]
    if (last !== undefined && now - last.start < RATE_BUCKET_MS) { last.bytes += bytes; last.ms += ms } else this.rates.push({ start: now, bytes, ms })
    while (this.rates.length > RATE_BUCKETS || (this.rates.length > 1 && now - this.rates[0]!.start > RATE_BUCKETS * RATE_BUCKET_MS)) this.rates.shift()
  }

  /** The best sustained reading rate of the peer in the last second, bytes/ms. */
  private sustainedRate (): number {
    let best = 0
    for (const r of this.rates) if (r.ms > 0) best = Math.max(best, r.bytes / r.ms)
    return best
  }

  status (sent: number): SendPacerStatus {
    return {
      window: this.win,
      inFlight: sent - this.acked,
      floorRttMs: this.floor.length === 0 ? NaN : Math.min(...this.floor.map(b => b.min)),
      lastRttMs: this.lastRtt,
      pongs: this.pongs,
      limitedEvents: this.limitedEvents
    }
  }

  /** Records `rtt` and returns the least round trip within the floor's memory. */
  private updateFloor (rtt: number, now: number): number {
    const last = this.floor[this.floor.length - 1]
    if (last !== undefined && now - last.start < this.floorBucketMs) {
      last.min = Math.min(last.min, rtt)
    } else {
      this.floor.push({ start: now, min: rtt })
    }
    const oldest = now - this.floorBucketMs * FLOOR_BUCKETS
    while (this.floor.length > 1 && (this.floor[0]!.start < oldest || this.floor.length > FLOOR_BUCKETS)) this.floor.shift()
    let m = Infinity
    for (const b of this.floor) m = Math.min(m, b.min)
    return m
  }
}
