import { describe, expect, it } from 'vitest'
import { SendPacer, type SendPacerOptions } from '@switchyard/conn'

/**
 * A deterministic model of one paced connection, in simulated time (no clocks, no sockets): the
 * sender writes whatever the pacer allows, in batches of at most 64 KiB, and a ping whenever the
 * pacer wants one; bytes take `oneWayMs` to reach the receiver, which reads `rate(t)` bytes per ms
 * in order and answers a ping when it has read up to it; the pong takes `oneWayMs` back.
 */
interface Model {
  /** Receiver speed in bytes per ms at simulated time t. */
  rate: (t: number) => number
  oneWayMs?: number
  /** Bytes the application offers per ms (Infinity: always more). */
  offered?: number
  durationMs: number
  pacer?: SendPacerOptions
}

interface Trace { t: number, read: number, queueMs: number, window: number }

function simulate (m: Model): { pacer: SendPacer, trace: Trace[] } {
  const pacer = new SendPacer(m.pacer)
  const dt = 0.02
  const oneWay = m.oneWayMs ?? 0.1
  const offered = m.offered ?? Infinity
  let sent = 0
  let available = 0 // bytes the application has handed over but not yet written
  let read = 0
  const arrivals: Array<{ at: number, upTo: number }> = [] // what reaches the receiver, when
  let arrived = 0
  const pings: Array<{ offset: number, at: number }> = []
  const pongs: number[] = [] // times pongs reach the sender
  const trace: Trace[] = []
  for (let step = 0, t = 0; t < m.durationMs; step++, t = step * dt) {
    while (pongs.length > 0 && pongs[0]! <= t) { pongs.shift(); pacer.pongReceived(t) }
    available = offered === Infinity ? Infinity : available + offered * dt
    const wants = Math.min(available, 64 * 1024)
    if (wants > 0) {
      if (pacer.wantsProbe(sent)) { pacer.pingSent(sent, t); pings.push({ offset: sent, at: t + oneWay }) }
      const allowed = pacer.allowance(sent)
      if (allowed <= 0) pacer.limited()
      const n = Math.max(0, Math.min(wants, allowed))
      if (n > 0) { sent += n; available -= n; arrivals.push({ at: t + oneWay, upTo: sent }) }
    }
    while (arrivals.length > 0 && arrivals[0]!.at <= t) arrived = arrivals.shift()!.upTo
    read = Math.min(arrived, read + m.rate(t) * dt)
    while (pings.length > 0 && pings[0]!.offset <= read && pings[0]!.at <= t) { pings.shift(); pongs.push(t + oneWay) }
    if (step % 50 === 0) trace.push({ t, read, queueMs: (sent - read) / m.rate(t), window: pacer.window })
  }
  return { pacer, trace }
}

/** Bytes read per ms between simulated times a and b. */
function throughput (trace: Trace[], a: number, b: number): number {
  const first = trace.find(x => x.t >= a)!
  const last = [...trace].reverse().find(x => x.t <= b)!
  return (last.read - first.read) / (last.t - first.t)
}

function p99 (xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y)
  return s[Math.floor(0.99 * (s.length - 1))]!
}

describe('SendPacer (simulated link)', () => {
  it('keeps a saturated link busy with at most about twice targetDelay of queue', () => {
    const rate = 100_000 // 100 MB/s
    const { trace } = simulate({ rate: () => rate, durationMs: 1000, pacer: { targetDelayMs: 2 } })
    const steady = trace.filter(x => x.t >= 200)
    expect(throughput(trace, 200, 1000)).toBeGreaterThan(0.95 * rate)
    // Without pacing this queue is whatever the buffers hold. Here a ping (sent half a window in)
    // sees about the 2 ms target ahead of it, so the queue swings between ~2 and ~4 ms.
    expect(p99(steady.map(x => x.queueMs))).toBeLessThan(5)
    expect(Math.min(...steady.map(x => x.queueMs))).toBeGreaterThan(0) // never starved
  })

  it('works the same on a slow receiver (CometBFT reads ~5 MB/s)', () => {
    const rate = 5_000
    const { trace } = simulate({ rate: () => rate, durationMs: 2000, pacer: { targetDelayMs: 2 } })
    const steady = trace.filter(x => x.t >= 500)
    expect(throughput(trace, 500, 2000)).toBeGreaterThan(0.95 * rate)
    expect(p99(steady.map(x => x.queueMs))).toBeLessThan(5)
  })

  it('shrinks when the receiver slows down and recovers full speed when the queue drains', () => {
    const fast = 100_000
    const rate = (t: number): number => t >= 400 && t < 700 ? fast / 20 : fast
    const { trace } = simulate({ rate, durationMs: 1200, pacer: { targetDelayMs: 2 } })
    const before = trace.filter(x => x.t >= 300 && x.t < 400)
    const slow = trace.filter(x => x.t >= 600 && x.t < 700)
    const windowBefore = before[before.length - 1]!.window
    // While slow: the window follows the receiver down and the queue stays short in time.
    expect(Math.max(...slow.map(x => x.window))).toBeLessThan(windowBefore / 5)
    expect(p99(slow.map(x => x.queueMs))).toBeLessThan(6)
    // After: full speed again, with the window back where it was.
    expect(throughput(trace, 800, 1200)).toBeGreaterThan(0.95 * fast)
    expect(trace[trace.length - 1]!.window).toBeGreaterThan(0.7 * windowBefore)
  })

  it('does not grow a window the application never fills', () => {
    const { pacer, trace } = simulate({ rate: () => 100_000, offered: 1_000, durationMs: 500, pacer: { initialWindow: 64 * 1024 } })
    expect(throughput(trace, 100, 500)).toBeGreaterThan(950) // everything offered got through
    expect(pacer.window).toBeLessThanOrEqual(64 * 1024)
  })

  it('stays within minWindow and maxWindow', () => {
    const tiny = simulate({ rate: () => 500, durationMs: 2000, pacer: { minWindow: 8192, targetDelayMs: 1 } })
    expect(Math.min(...tiny.trace.map(x => x.window))).toBe(8192)
    const huge = simulate({ rate: () => 1_000_000, durationMs: 300, pacer: { maxWindow: 1 << 20, targetDelayMs: 10 } })
    expect(Math.max(...huge.trace.map(x => x.window))).toBe(1 << 20)
  })
})

/**
 * A sender slower than its path (a browser tab sealing in JavaScript): every batch of up to 64 KiB
 * keeps the sender busy `batchMs`, the receiver reads at once and the pong is back 2 × 0.1 ms after
 * the ping left, but it is read only when the sender's current batch ends, as in an event loop.
 * `ours`: as MConnection does, the ping's time is taken when its batch is handed on, the pacer is
 * told how long each batch took and how long the pong may have waited behind our own last batch;
 * otherwise the ping is timed from the start of its batch and every wait counts as round trip.
 */
function busySender (batchMs: number, ours: boolean, durationMs = 2000): { rate: number, limited: number } {
  const pacer = new SendPacer()
  let t = 0
  let sent = 0
  let batchStart = -Infinity
  let batchEnd = -Infinity
  let pongAt = Infinity
  let sentAtHalf = -1
  let limited = 0
  while (t < durationMs) {
    if (sentAtHalf < 0 && t >= durationMs / 2) sentAtHalf = sent
    if (pongAt <= t) {
      const own = ours && batchEnd <= t ? Math.max(0, batchEnd - Math.max(batchStart, pacer.probeSentAt)) : 0
      pacer.pongReceived(t, own)
      pongAt = Infinity
    }
    const allowed = Math.max(0, Math.min(64 * 1024, pacer.allowance(sent)))
    const ping = pacer.wantsProbe(sent) // a ping goes out even when the window holds data back
    if (allowed <= 0 && !ping) {
      pacer.limited()
      limited++
      t = Math.max(t, pongAt) // idle until the pong
      continue
    }
    const offset = sent
    batchStart = t
    t += batchMs * allowed / (64 * 1024)
    batchEnd = t
    if (ours) pacer.batchTook(batchEnd - batchStart)
    sent += allowed
    if (ping) { pacer.pingSent(offset, ours ? batchEnd : batchStart); pongAt = t + 0.2 }
  }
  return { rate: (sent - sentAtHalf) / (durationMs / 2), limited }
}

describe('SendPacer (sender slower than its path)', () => {
  it('does not take the time a pong waited behind our own batches for a queue at the peer', () => {
    const batchMs = 3 // 64 KiB per 3 ms: ~22 MB/s, a tab sealing with @noble
    const ownLimit = 64 * 1024 / batchMs
    const ours = busySender(batchMs, true)
    const naive = busySender(batchMs, false)
    // The window never holds back a sender whose own batches are the bottleneck.
    expect(ours.rate).toBeGreaterThan(0.98 * ownLimit)
    expect(ours.limited).toBeLessThan(20)
    // The model reproduces what this avoids: with its own batches counted as round trip, the
    // window shrinks until it stalls the sender hundreds of times.
    expect(naive.limited).toBeGreaterThan(200)
  })
})

describe('SendPacer (direct)', () => {
  it('caps the window by the peer\'s sustained reading rate, not by one late pong\'s catch-up spike', () => {
    const p = new SendPacer({ initialWindow: 8 << 20, maxWindow: 16 << 20 })
    let t = 0
    let sent = 0
    for (let i = 0; i < 400; i++) {
      sent += Math.max(0, Math.min(100_000, p.allowance(sent))) // nothing while it re-measures the floor
      p.pingSent(sent, t)
      p.limited()
      // 100 kB per ms, except that every tenth pong is read 5 ms late and the next 0.1 ms after it:
      // that one reads as 1,000 kB per ms, ten times what the peer sustains.
      t += i % 10 === 5 ? 6 : i % 10 === 6 ? 0.1 : 1
      p.pongReceived(t)
    }
    // Sustained: 1 MB per ~15 ms; cap = 2 × rate × (floor 0.1 + target 2) ≈ 0.3 MB. The spike
    // would allow 2 × 1,000 kB/ms × 2.1 ms ≈ 4.2 MB.
    expect(p.window).toBeLessThan(1_000_000)
    expect(p.window).toBeGreaterThan(100_000)
  })


  it('allows nothing beyond the window until a pong acknowledges the bytes before its ping', () => {
    const p = new SendPacer({ initialWindow: 10_000, minWindow: 1000 })
    expect(p.allowance(0)).toBe(5000) // up to where the ping is due
    expect(p.wantsProbe(4999)).toBe(false)
    expect(p.wantsProbe(5000)).toBe(true)
    p.pingSent(6000, 0)
    expect(p.allowance(6000)).toBe(4000)
    expect(p.probing).toBe(true)
    expect(p.wantsProbe(9000)).toBe(false) // one ping at a time
    expect(p.allowance(10_000)).toBe(0)
    expect(p.allowance(10_000)).toBe(0) // no pong, no more room, however long we ask
    p.pongReceived(1)
    expect(p.probing).toBe(false)
    expect(p.window).toBe(10_000) // a round trip at the floor, but the window held nothing back
    expect(p.allowance(10_000)).toBe(1000) // to where the next ping is due (6000 + 5000)
    expect(p.allowance(11_000)).toBe(5000) // then the rest of the window
    expect(p.status(10_000)).toMatchObject({ inFlight: 4000, pongs: 1, lastRttMs: 1, floorRttMs: 1 })
  })

  it('ignores a pong nobody asked for', () => {
    const p = new SendPacer()
    const before = p.status(0)
    expect(p.pongReceived(5)).toBeNaN()
    expect(p.status(0)).toEqual(before)
  })

  it('rejects nonsense options, naming them', () => {
    expect(() => new SendPacer({ targetDelayMs: 0 })).toThrow(/targetDelayMs/)
    expect(() => new SendPacer({ minWindow: Number.NaN })).toThrow(/minWindow/)
    expect(() => new SendPacer({ minWindow: 10, maxWindow: 5 })).toThrow(/must not exceed maxWindow/)
  })
})
