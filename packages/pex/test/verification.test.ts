/**
 * Address verification in the book: only the ip:port a handshake proved is promoted and recorded as
 * reached; failures count against that ip:port only; verified-only selections; the extra fields
 * persist beside CometBFT's (and only when set); and the verification pool's bounds.
 */
import { describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { NetAddress } from '@switchyard/p2p'
import { AddrBook, AddressVerifier, BUCKET_TYPE_NEW, BUCKET_TYPE_OLD, KnownAddress, dueForVerification, reachedAges } from '@switchyard/pex'
import { waitFor } from '@switchyard/testing'

const id = (): string => randomBytes(20).toString('hex')
let n = 0
const addr = (g = 1): NetAddress => new NetAddress(id(), `1.${g}.${(n >> 8) & 0xff}.${n++ & 0xff}`, 26656)

describe('AddrBook verification', () => {
  it('markGood at another ip:port replaces the stored claim; the claimed IP is never promoted', () => {
    const book = new AddrBook()
    const real = addr(2)
    const claimed = new NetAddress(real.id, '9.9.9.9', real.port) // e.g. a replayed LAN announcement
    book.addAddress(claimed, claimed)
    book.markGood(real)
    const ka = book.get(real.id)!
    expect(ka.addr.dialString).toBe(real.dialString)
    expect(ka.bucketType).toBe(BUCKET_TYPE_OLD)
    expect(ka.lastReached).toBeGreaterThan(0)
    expect(book.entries().filter(e => e.addr.ip === '9.9.9.9')).toEqual([])
    expect(book.size).toBe(1)
    expect(book.sizeOld).toBe(1)
    expect(book.sizeNew).toBe(0)
  })

  it('markGood at the stored ip:port promotes it and records when it was reached', () => {
    let now = 1_800_000_000_000
    const book = new AddrBook({ now: () => now })
    const a = addr()
    book.addAddress(a, a)
    expect(book.get(a.id)!.lastReached).toBe(0)
    now += 5000
    book.markGood(a)
    expect(book.get(a.id)).toMatchObject({ bucketType: BUCKET_TYPE_OLD, lastReached: now, lastSuccess: now })
  })

  it('a failed dial counts only against the very ip:port dialed', () => {
    const book = new AddrBook()
    const a = addr()
    book.addAddress(a, a)
    book.markAttempt(new NetAddress(a.id, '8.8.8.8', 1))
    expect(book.get(a.id)).toMatchObject({ attempts: 0, failures: 0 })
    book.markAttempt(a)
    book.markAttempt(a)
    expect(book.get(a.id)).toMatchObject({ attempts: 2, failures: 2, bucketType: BUCKET_TYPE_NEW })
    book.markGood(a)
    expect(book.get(a.id)).toMatchObject({ attempts: 0, failures: 2 }) // failures are all-time
  })

  it('verified selections hold only addresses reached within the window; counts say known/verified/fresh', () => {
    let now = 1_800_000_000_000
    const book = new AddrBook({ now: () => now })
    const all = Array.from({ length: 60 }, (_, i) => addr(10 + (i % 30)))
    for (const a of all) book.addAddress(a, a)
    const stale = all.slice(0, 10)
    const fresh = all.slice(10, 30)
    for (const a of stale) book.markGood(a)
    now += 2 * 3600_000
    for (const a of fresh) book.markGood(a)
    now += 60_000
    const window = 3600_000
    expect(book.verificationCounts(window)).toEqual({ known: 60, verified: 30, fresh: 20 })
    const served = book.getVerifiedSelection(window)
    expect(served).toHaveLength(20) // min(32, size) of 20 verified
    const freshIds = new Set(fresh.map(a => a.id))
    expect(served.every(a => freshIds.has(a.id))).toBe(true)
    expect(new AddrBook().getVerifiedSelection(window)).toEqual([])
  })

  it('persists last_reached and failures beside CometBFT\'s fields, only when set, and reads them back', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'swy-verify-')), 'addrbook.json')
    const book = new AddrBook({ filePath: path })
    const reached = addr()
    const failing = addr()
    const untouched = addr()
    for (const a of [reached, failing, untouched]) book.addAddress(a, a)
    book.markGood(reached)
    book.markAttempt(failing)
    book.markAttempt(failing)
    await book.save()
    const doc = JSON.parse(readFileSync(path, 'utf8')) as { addrs: Array<Record<string, any>> }
    const entry = (x: NetAddress): Record<string, any> => doc.addrs.find(e => e.addr.id === x.id)!
    const cometKeys = ['addr', 'src', 'buckets', 'attempts', 'bucket_type', 'last_attempt', 'last_success', 'last_ban_time']
    expect(Object.keys(entry(untouched))).toEqual(cometKeys)
    expect(Object.keys(entry(reached))).toEqual([...cometKeys, 'last_reached'])
    expect(entry(failing)).toMatchObject({ failures: 2, attempts: 2 })
    const again = await AddrBook.load(path)
    expect(again.get(reached.id)!.lastReached).toBe(book.get(reached.id)!.lastReached)
    expect(again.get(failing.id)!.failures).toBe(2)
    expect(again.get(untouched.id)).toMatchObject({ lastReached: 0, failures: 0 })
  })
})

describe('what is due for verification', () => {
  it('never tried: due; reached: due after half a window; failed: back-off doubling up to the window', () => {
    const o = { now: 10_000_000, windowMs: 3600_000, retryUnitMs: 30_000 }
    const ka = new KnownAddress(addr(), addr())
    ka.lastAttempt = o.now // set by addAddress; a new entry is still due
    expect(dueForVerification(ka, o)).toBe(true)
    ka.lastReached = o.now - 1_799_000
    expect(dueForVerification(ka, o)).toBe(false)
    ka.lastReached = o.now - 1_800_000
    expect(dueForVerification(ka, o)).toBe(true)
    for (const [attempts, wait] of [[1, 30_000], [2, 60_000], [3, 120_000], [8, 3600_000], [40, 3600_000]] as const) {
      ka.attempts = attempts
      ka.lastAttempt = o.now - wait + 1
      expect(dueForVerification(ka, o)).toBe(false)
      ka.lastAttempt = o.now - wait
      expect(dueForVerification(ka, o)).toBe(true)
    }
    expect(reachedAges([ka], o.now)).toEqual({ newest: 1800, median: 1800, oldest: 1800 })
    expect(reachedAges([new KnownAddress(addr(), addr())], o.now)).toBeNull()
  })
})

describe('AddressVerifier', () => {
  it('never runs more dials than its concurrency, drops beyond its queue bound, and ignores a queued ID', async () => {
    const release: Array<() => void> = []
    let running = 0
    let maxRunning = 0
    const v = new AddressVerifier({
      concurrency: 3,
      ratePerSecond: 1000,
      maxQueued: 10,
      dial: async () => {
        running++
        maxRunning = Math.max(maxRunning, running)
        await new Promise<void>(resolve => release.push(resolve))
        running--
        return true
      }
    })
    const addrs = Array.from({ length: 15 }, () => addr())
    const queued = addrs.map(a => v.enqueue(a))
    expect(queued.filter(Boolean)).toHaveLength(10)
    expect(v.stats.dropped).toBe(5)
    expect(v.full).toBe(true)
    expect(v.enqueue(addrs[0]!)).toBe(false) // already queued
    await waitFor(() => release.length === 3, { what: 'three dials in flight' })
    while (v.stats.reached < 10) {
      release.splice(0).forEach(r => { r() })
      await waitFor(() => release.length > 0 || v.stats.reached === 10, { what: 'the next dials' })
    }
    await v.idle()
    expect(maxRunning).toBe(3)
    expect(v.size).toBe(0)
    expect(v.enqueue(addrs[0]!)).toBe(true) // done, so it may be queued again
    release.splice(0).forEach(r => { r() })
    await v.idle()
  })

  it('holds at most maxPerIp addresses of one IP at a time', async () => {
    const release: Array<() => void> = []
    const v = new AddressVerifier({ maxPerIp: 2, dial: async () => { await new Promise<void>(resolve => release.push(resolve)); return false } })
    const host = (port: number): NetAddress => new NetAddress(id(), '5.5.5.5', port)
    expect([host(1), host(2), host(3), host(4)].map(a => v.enqueue(a))).toEqual([true, true, false, false])
    expect(v.enqueue(addr())).toBe(true) // another IP still gets in
    await waitFor(() => release.length === 3, { what: 'three dials in flight' })
    release.splice(0).forEach(r => { r() })
    await v.idle()
    expect(v.enqueue(host(5))).toBe(true) // room again once those finished
    await waitFor(() => release.length === 1, { what: 'the dial' })
    release.splice(0).forEach(r => { r() })
    await v.idle()
  })

  it('starts at most ratePerSecond dials per second', async () => {
    const starts: number[] = []
    const v = new AddressVerifier({ concurrency: 100, ratePerSecond: 4, dial: async () => { starts.push(performance.now()); return false } })
    for (let i = 0; i < 9; i++) v.enqueue(addr())
    await v.idle()
    expect(starts).toHaveLength(9)
    expect(v.stats.failed).toBe(9)
    // 9 dials at 4 per second need three windows: the last starts at least two seconds after the first.
    expect(starts.at(-1)! - starts[0]!).toBeGreaterThanOrEqual(1900)
  })
})
