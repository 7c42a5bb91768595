/**
 * The benchmark's receiver-side check (bench/src/pattern.ts): every transport's bulk and message
 * runs are verified by it, so it must pass an intact stream however it is cut, and catch a chunk
 * that was changed, dropped, duplicated or delivered out of order.
 */
import { describe, expect, it } from 'vitest'
import { PATTERN_PERIOD, PatternSource, Verifier, pattern } from '../bench/src/pattern.js'

/** `count` messages of `size` bytes from the sender's source (copied: the views share memory). */
function messages (size: number, count: number, seed = 7): Buffer[] {
  const src = new PatternSource(size, seed)
  return Array.from({ length: count }, () => Buffer.from(src.next()))
}

function verify (chunks: Uint8Array[], seed = 7): Verifier {
  const v = new Verifier(seed)
  for (const c of chunks) v.check(c)
  return v
}

describe('bench verifier', () => {
  it('the period is prime, so no whole number of messages or frames spans it', () => {
    for (let d = 2; d * d <= PATTERN_PERIOD; d++) expect(PATTERN_PERIOD % d, `divisible by ${d}`).not.toBe(0)
  })

  it('the pattern repeats after the period, and its slack copies the start', () => {
    const p = pattern(1024, 3)
    expect(p.length).toBe(PATTERN_PERIOD + 1024)
    expect(p.subarray(PATTERN_PERIOD).equals(p.subarray(0, 1024))).toBe(true)
    expect(p.subarray(0, 1024).equals(pattern(0, 4).subarray(0, 1024))).toBe(false)
  })

  it('passes an intact stream across the period wrap, cut into arbitrary reads', () => {
    // 64 KiB messages: 70 of them pass the 4 MiB period, and the source's views span the wrap.
    const msgs = messages(65536, 70)
    const whole = Buffer.concat(msgs)
    const reads: Buffer[] = []
    for (let at = 0, n = 1; at < whole.length; at += n, n = (n * 7919 + 13) % 70_000 + 1) reads.push(whole.subarray(at, at + n))
    const v = verify(reads)
    expect(v.received).toBe(whole.length)
    expect(v.mismatches).toBe(0)
  })

  it('catches one changed byte', () => {
    const msgs = messages(200, 1000)
    msgs[500]![123]! ^= 1
    expect(verify(msgs).mismatches).toBe(1)
  })

  it('catches a dropped message', () => {
    const msgs = messages(200, 1000)
    msgs.splice(400, 1)
    expect(verify(msgs).mismatches).toBeGreaterThan(0)
  })

  it('catches a duplicated message', () => {
    const msgs = messages(1024, 1000)
    msgs.splice(400, 0, msgs[399]!)
    expect(verify(msgs).mismatches).toBeGreaterThan(0)
  })

  it('catches two messages swapped', () => {
    const msgs = messages(65536, 10)
    ;[msgs[3], msgs[4]] = [msgs[4]!, msgs[3]!]
    expect(verify(msgs).mismatches).toBe(2)
  })

  it('catches a message delivered a whole period late (a period-aligned pattern would not)', () => {
    // With a period that is a whole number of messages, message k and message k + period/size are
    // identical: swapping them would pass. With the prime period they differ.
    const size = 65536
    const msgs = messages(size, 130)
    const k = 2
    const later = k + Math.round(PATTERN_PERIOD / size)
    ;[msgs[k], msgs[later]] = [msgs[later]!, msgs[k]!]
    expect(verify(msgs).mismatches).toBe(2)
  })

  it('catches a stream from a different seed', () => {
    expect(verify(messages(200, 10, 8)).mismatches).toBe(10)
  })
})
