import { describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { NetAddress } from '@switchyard/p2p'
import {
  AddrBook, BUCKET_SIZE, BUCKET_TYPE_NEW, BUCKET_TYPE_OLD, KnownAddress, formatGoTime, parseGoTime
} from '@switchyard/pex'
import { vectorsDir } from '../../../test/vectors.js'

const tmp = (): string => mkdtempSync(join(tmpdir(), 'swy-book-'))
const id = (): string => randomBytes(20).toString('hex')
let counter = 0
/** A routable address in /16 group `g` (1.g.x.y), with a fresh ID. */
function addr (g = 1, x?: number): NetAddress {
  const n = x ?? counter++
  return new NetAddress(id(), `1.${g}.${(n >> 8) & 0xff}.${n & 0xff}`, 26656)
}

describe('AddrBook: adding', () => {
  it('refuses ours, private IDs, banned, malformed, and non-routable in strict mode, each with its reason', () => {
    const book = new AddrBook()
    const src = addr(9)
    const ours = addr(1)
    book.addOurAddress(ours)
    const priv = addr(1)
    book.addPrivateIds([priv.id])
    const banned = addr(1)
    book.addAddress(banned, src)
    book.markBad(banned, 60_000)
    const reasons: string[] = []
    book.on('refused', r => reasons.push(r.reason))
    expect(book.addAddress(ours, src)).toEqual({ added: false, reason: 'ours' })
    expect(book.addAddress(priv, src)).toEqual({ added: false, reason: 'private' })
    expect(book.addAddress(banned, src)).toEqual({ added: false, reason: 'banned' })
    expect(book.addAddress(new NetAddress('nothex', '1.2.3.4', 1), src)).toEqual({ added: false, reason: 'invalid' })
    expect(book.addAddress(new NetAddress(id(), '0.0.0.0', 1), src)).toEqual({ added: false, reason: 'invalid' })
    for (const ip of ['10.0.0.1', '192.168.1.1', '127.0.0.1', '169.254.0.1', 'fd00::1']) {
      expect(book.addAddress(new NetAddress(id(), ip, 1), src).reason).toBe('non-routable')
    }
    expect(reasons).toEqual(['ours', 'private', 'banned', 'invalid', 'invalid', ...Array(5).fill('non-routable')])
    expect(book.refusals.get('non-routable')).toBe(5)
    const lan = new AddrBook({ strict: false })
    expect(lan.addAddress(new NetAddress(id(), '10.0.0.1', 1), src).added).toBe(true)
    expect(lan.addAddress(new NetAddress(id(), '127.0.0.1', 1), src).added).toBe(true)
  })

  it('spreads one source over at most 32 new buckets, whatever it claims', () => {
    const book = new AddrBook()
    const src = addr(200)
    for (let i = 0; i < 3000; i++) book.addAddress(addr(1 + (i % 250), i), src)
    const buckets = new Set(book.entries().flatMap(ka => ka.buckets))
    expect(buckets.size).toBeLessThanOrEqual(32)
    // …so one liar cannot fill the book: at most 32 × 64 entries stay.
    expect(book.size).toBeLessThanOrEqual(32 * BUCKET_SIZE)
    // Sources in many groups do spread over the new table (250 group pairs into 256 buckets).
    const wide = new AddrBook()
    for (let i = 0; i < 3000; i++) wide.addAddress(addr(1 + (i % 250), i), addr(1 + ((i * 7) % 250)))
    expect(new Set(wide.entries().flatMap(ka => ka.buckets)).size).toBeGreaterThan(120)
  })

  it('a full new bucket drops a bad entry first, else its oldest, and never grows past 64', () => {
    let now = 1_000_000_000_000
    const book = new AddrBook({ now: () => now })
    const src = addr(7)
    const added: KnownAddress[] = []
    for (let i = 0; i < 2000 && book.size < 64 * 32; i++) {
      const a = addr(3, i)
      book.addAddress(a, src)
      now += 1000
      const ka = book.get(a.id)
      if (ka !== undefined) added.push(ka)
    }
    const perBucket = new Map<number, number>()
    for (const ka of book.entries()) for (const b of ka.buckets) perBucket.set(b, (perBucket.get(b) ?? 0) + 1)
    expect(Math.max(...perBucket.values())).toBeLessThanOrEqual(BUCKET_SIZE)
    // The earliest entries were the ones evicted.
    expect(book.has(added[0]!.addr.id)).toBe(false)
    expect(book.has(added.at(-1)!.addr.id)).toBe(true)
  })

  it('a known ID keeps its address; a new IP only adds a bucket, up to 4', () => {
    const book = new AddrBook({ random: () => 0 })
    const a = addr(5)
    book.addAddress(a, addr(6))
    const moved = new NetAddress(a.id, '2.2.2.2', 1)
    for (let g = 10; g < 30; g++) book.addAddress(moved, addr(g))
    const ka = book.get(a.id)!
    expect(ka.addr.ip).toBe(a.ip)
    expect(ka.buckets.length).toBeLessThanOrEqual(4)
    expect(book.addAddress(moved, addr(99)).reason).toBe(ka.buckets.length === 4 ? 'in-enough-buckets' : undefined)
  })
})

describe('AddrBook: good, attempts, bad, bans', () => {
  it('markGood moves an address to one old bucket; a known-old ID ignores new claims', () => {
    const book = new AddrBook()
    const a = addr(1)
    book.addAddress(a, addr(2))
    book.markGood(a)
    const ka = book.get(a.id)!
    expect(ka.bucketType).toBe(BUCKET_TYPE_OLD)
    expect(ka.buckets).toHaveLength(1)
    expect(ka.attempts).toBe(0)
    expect(ka.lastSuccess).toBeGreaterThan(0)
    expect(book.sizeOld).toBe(1)
    expect(book.sizeNew).toBe(0)
    expect(book.addAddress(new NetAddress(a.id, '3.3.3.3', 1), addr(4)).reason).toBe('known-old')
  })

  it('a full old bucket demotes its oldest entry back to new (CometBFT drops it instead)', () => {
    let now = 1_000_000_000_000
    const book = new AddrBook({ now: () => now })
    // Many addresses of one group land in at most 4 old buckets: fill them.
    const group: NetAddress[] = []
    for (let i = 0; i < 400; i++) {
      const a = addr(8, i)
      if (book.addAddress(a, addr(20 + (i % 200))).added) group.push(a)
    }
    for (const a of group) { now += 1000; book.markGood(a) }
    const old = book.entries().filter(ka => ka.bucketType === BUCKET_TYPE_OLD)
    const oldBuckets = new Set(old.flatMap(ka => ka.buckets))
    expect(oldBuckets.size).toBeLessThanOrEqual(4)
    expect(old.length).toBeLessThanOrEqual(4 * BUCKET_SIZE)
    // Nobody was lost: the overflow went back to new buckets.
    expect(book.size).toBe(group.length)
    expect(book.entries().filter(ka => ka.bucketType === BUCKET_TYPE_NEW).length).toBe(group.length - old.length)
  })

  it('bad: never when old or tried in the last minute; stale, or failing with no success', () => {
    const now = 10 * 24 * 3600 * 1000 * 100
    const ka = new KnownAddress(addr(1), addr(2))
    const day = 24 * 3600 * 1000
    ka.lastAttempt = now - 30_000
    ka.attempts = 50
    expect(ka.isBad(now)).toBe(false)
    ka.lastAttempt = now - 8 * day
    expect(ka.isBad(now)).toBe(true)
    ka.lastAttempt = now - 2 * 60_000
    ka.attempts = 3
    expect(ka.isBad(now)).toBe(true)
    ka.lastSuccess = now - day
    expect(ka.isBad(now)).toBe(false)
    ka.lastSuccess = now - 8 * day
    ka.attempts = 10
    expect(ka.isBad(now)).toBe(true)
    ka.bucketType = BUCKET_TYPE_OLD
    expect(ka.isBad(now)).toBe(false)
  })

  it('markAttempt counts; markBad removes and bans; the ban expires and the address is reinstated', () => {
    let now = 1_000_000
    const book = new AddrBook({ now: () => now })
    const a = addr(1)
    book.addAddress(a, addr(2))
    book.markAttempt(a)
    book.markAttempt(a)
    expect(book.get(a.id)!.attempts).toBe(2)
    book.markGood(a)
    book.markBad(a, 60_000)
    expect(book.has(a.id)).toBe(false)
    expect(book.isBanned(a.id)).toBe(true)
    expect(book.pickAddress(50)).toBeUndefined()
    expect(book.reinstateBadPeers()).toBe(0)
    now += 60_001
    expect(book.isBanned(a.id)).toBe(false)
    expect(book.reinstateBadPeers()).toBe(1)
    expect(book.get(a.id)!.bucketType).toBe(BUCKET_TYPE_NEW)
    expect(book.pickAddress(100)?.id).toBe(a.id)
  })
})

describe('AddrBook: selection', () => {
  it('selection sizes: max(min(32, size), 23 %), at most 250', () => {
    const cases: Array<[number, number]> = [[0, 0], [10, 10], [32, 32], [100, 32], [200, 46], [1000, 230], [2000, 250]]
    for (const [size, want] of cases) {
      const book = new AddrBook({ strict: false })
      let i = 0
      while (book.size < size) book.addAddress(new NetAddress(id(), `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i++ & 255}`, 1), addr(1 + (i % 250)))
      expect(book.getSelection().length, `size ${size}`).toBe(want)
      expect(new Set(book.getSelection().map(a => a.id)).size).toBe(want)
      expect(book.getSelectionWithBias(30).length).toBeLessThanOrEqual(want)
    }
  })

  it('getSelectionWithBias(30) takes ~70 % old when there are enough old addresses', () => {
    const book = new AddrBook()
    const all: NetAddress[] = []
    for (let i = 0; i < 1000; i++) { const a = addr(1 + (i % 250), i); if (book.addAddress(a, addr(1 + ((i * 3) % 250))).added) all.push(a) }
    for (const a of all.slice(0, all.length / 2)) book.markGood(a)
    const sel = book.getSelectionWithBias(30)
    const nOld = sel.filter(a => book.get(a.id)?.bucketType === BUCKET_TYPE_OLD).length
    expect(nOld / sel.length).toBeGreaterThan(0.6)
    expect(nOld / sel.length).toBeLessThan(0.8)
  })

  it('pickAddress weighs new and old by the bias', () => {
    const book = new AddrBook()
    const all: NetAddress[] = []
    for (let i = 0; i < 400; i++) { const a = addr(1 + (i % 250), i); if (book.addAddress(a, addr(1 + (i % 250))).added) all.push(a) }
    for (const a of all.slice(0, all.length / 2)) book.markGood(a)
    const share = (bias: number): number => {
      let old = 0
      for (let i = 0; i < 2000; i++) if (book.get(book.pickAddress(bias)!.id)!.bucketType === BUCKET_TYPE_OLD) old++
      return old / 2000
    }
    expect(share(0)).toBe(1)
    expect(share(100)).toBe(0)
    expect(share(90)).toBeLessThan(0.25)
    expect(share(10)).toBeGreaterThan(0.75)
    expect(new AddrBook().pickAddress(50)).toBeUndefined()
  })

  it('needs more addresses below 1000', () => {
    const book = new AddrBook({ strict: false })
    expect(book.needMoreAddrs()).toBe(true)
    let i = 0
    while (book.size < 1000) book.addAddress(new NetAddress(id(), `10.0.${(i >> 8) & 255}.${i++ & 255}`, 1), addr(1 + (i % 250)))
    expect(book.needMoreAddrs()).toBe(false)
  })
})

describe('AddrBook: addrbook.json', () => {
  it('formats and parses Go times, including the zero time and nanoseconds', () => {
    expect(formatGoTime(0)).toBe('0001-01-01T00:00:00Z')
    expect(formatGoTime(Date.UTC(2026, 10, 22, 19, 34, 22, 120))).toBe('2026-11-22T19:34:22.12Z')
    expect(formatGoTime(Date.UTC(2026, 10, 22, 19, 34, 22))).toBe('2026-11-22T19:34:22Z')
    expect(parseGoTime('0001-01-01T00:00:00Z')).toBe(0)
    expect(parseGoTime('2026-11-22T19:34:22.123456789Z')).toBe(Date.UTC(2026, 10, 22, 19, 34, 22, 123))
    expect(parseGoTime('2026-11-22T21:34:22.5+02:00')).toBe(Date.UTC(2026, 10, 22, 19, 34, 22, 500))
    expect(() => parseGoTime('yesterday')).toThrow()
  })

  it('loads a CometBFT-format file written by hand (tab-indented, Go timestamps) and writes it back the same way', async () => {
    const dir = tmp()
    const path = join(dir, 'addrbook.json')
    const a = { id: '0ec237d5ed7f36eba9a43ad23957ada43db720d1', ip: '8.8.8.8', port: 26656 }
    const b = { id: 'f5dc14caa97f130df9d790a1f3f3d8fa7e62feef', ip: '2606:4700::1111', port: 26657 }
    const file = {
      key: 'a1b2c3d4e5f6a1b2c3d4e5f6',
      addrs: [
        { addr: a, src: b, buckets: [17, 200], attempts: 3, bucket_type: 1, last_attempt: '2026-11-20T10:00:00.123456789Z', last_success: '0001-01-01T00:00:00Z', last_ban_time: '0001-01-01T00:00:00Z' },
        { addr: b, src: b, buckets: [5], attempts: 0, bucket_type: 2, last_attempt: '2026-11-21T10:00:00+01:00', last_success: '2026-11-21T10:00:00+01:00', last_ban_time: '0001-01-01T00:00:00Z' }
      ]
    }
    writeFileSync(path, JSON.stringify(file, null, '\t'))
    const book = await AddrBook.load(path)
    expect(book.key).toBe(file.key)
    expect(book.size).toBe(2)
    expect(book.get(a.id)).toMatchObject({ attempts: 3, bucketType: 1, buckets: [17, 200], lastAttempt: Date.UTC(2026, 10, 20, 10, 0, 0, 123), lastSuccess: 0 })
    expect(book.get(b.id)).toMatchObject({ bucketType: 2, buckets: [5], lastSuccess: Date.UTC(2026, 10, 21, 9, 0, 0) })
    await book.save()
    const text = readFileSync(path, 'utf8')
    expect(text.startsWith('{\n\t"key": "a1b2c3d4e5f6a1b2c3d4e5f6",\n\t"addrs": [\n\t\t{\n\t\t\t"addr": {')).toBe(true)
    const again = JSON.parse(text)
    expect(Object.keys(again.addrs[0])).toEqual(['addr', 'src', 'buckets', 'attempts', 'bucket_type', 'last_attempt', 'last_success', 'last_ban_time'])
    expect(again.addrs[0]).toMatchObject({ addr: a, src: b, buckets: [17, 200], attempts: 3, bucket_type: 1, last_attempt: '2026-11-20T10:00:00.123Z', last_success: '0001-01-01T00:00:00Z' })
    expect(again.addrs[1]).toMatchObject({ addr: b, bucket_type: 2, buckets: [5], last_success: '2026-11-21T09:00:00Z' })
  })

  it('accepts the old capitalised keys (as Go does) and skips entries it cannot use', async () => {
    const path = join(tmp(), 'addrbook.json')
    writeFileSync(path, JSON.stringify({
      Key: 'aabbcc',
      Addrs: [
        { Addr: { ID: '0ec237d5ed7f36eba9a43ad23957ada43db720d1', IP: '8.8.4.4', Port: 1 }, Src: { ID: '0ec237d5ed7f36eba9a43ad23957ada43db720d1', IP: '8.8.4.4', Port: 1 }, Bucket_Type: 1, Buckets: [3], Attempts: 0, Last_Attempt: '0001-01-01T00:00:00Z', Last_Success: '0001-01-01T00:00:00Z', Last_Ban_Time: '0001-01-01T00:00:00Z' },
        { addr: { id: 'zz', ip: '1.1.1.1', port: 1 }, src: {}, bucket_type: 1 },
        { addr: { id: '0ec237d5ed7f36eba9a43ad23957ada43db720d2', ip: 'not-an-ip', port: 1 }, bucket_type: 1 },
        { addr: { id: '0ec237d5ed7f36eba9a43ad23957ada43db720d3', ip: '9.9.9.9', port: 1 }, src: { id: '0ec237d5ed7f36eba9a43ad23957ada43db720d3', ip: '9.9.9.9', port: 1 }, bucket_type: 7 }
      ]
    }))
    const book = await AddrBook.load(path)
    expect(book.size).toBe(1)
    expect(book.key).toBe('aabbcc')
  })

  it('does not crash on the 2017-era fuzz seed that panics CometBFT\'s loader', async () => {
    const path = join(tmp(), 'addrbook.json')
    writeFileSync(path, readFileSync(vectorsDir + 'cometbft/pex-fuzz-seed-addrbook1.json'))
    const book = await AddrBook.load(path)
    expect(book.size).toBe(0) // no IDs and no bucket_type: every entry is unusable, none crashes us
  })

  it('moves a book with broken members aside with a clear error and never overwrites it', async () => {
    const dir = tmp()
    const path = join(dir, 'addrbook.json')
    writeFileSync(path, '{"key": "not hex!", "addrs": {"addr": 1}}')
    const err = await AddrBook.load(path).catch(e => e)
    expect(err).toMatchObject({ code: 'ERR_ADDRBOOK_FILE', path })
    expect(err.quarantinedTo).toMatch(/addrbook\.json\.corrupt-/)
    expect(readFileSync(err.quarantinedTo, 'utf8')).toBe('{"key": "not hex!", "addrs": {"addr": 1}}')
    expect(readdirSync(dir)).toEqual([err.quarantinedTo.split('/').pop()])
  })

  it('reports an unreadable file without touching it', async () => {
    if (process.getuid?.() === 0) {
      // root reads mode-000 files; use a directory in the file's place instead.
      const dir = tmp()
      const path = join(dir, 'addrbook.json')
      const { mkdirSync } = await import('node:fs')
      mkdirSync(path)
      await expect(AddrBook.load(path)).rejects.toMatchObject({ code: 'ERR_NOT_AN_ADDRBOOK', message: /is a directory/ })
    } else {
      const path = join(tmp(), 'addrbook.json')
      writeFileSync(path, '{"key": "", "addrs": []}')
      chmodSync(path, 0)
      await expect(AddrBook.load(path)).rejects.toMatchObject({ code: 'ERR_ADDRBOOK_FILE', message: /EACCES/ })
    }
  })

  it('refuses JSON that is not a book, and non-JSON, without touching the file or its folder', async () => {
    for (const text of ['{}', '{"priv_key": {"type": "tendermint/PrivKeyEd25519", "value": "AAAA"}}', '{"addrs": []}', '[]', 'laddr = "tcp://0.0.0.0:26656"\n', '{"key": "abc", "addrs": [ {"addr"']) {
      const dir = tmp()
      const path = join(dir, 'addrbook.json')
      writeFileSync(path, text)
      writeFileSync(join(dir, '.addrbook.json.0123456789ab.tmp'), 'not ours to remove until the file is known to be a book')
      await expect(AddrBook.load(path)).rejects.toMatchObject({ code: 'ERR_NOT_AN_ADDRBOOK', path, message: /not an address book and is left untouched/ })
      expect(readFileSync(path, 'utf8')).toBe(text)
      expect(readdirSync(dir).sort()).toEqual(['.addrbook.json.0123456789ab.tmp', 'addrbook.json'])
    }
  })

  it('save() refuses a path that something other than a regular file has taken', async () => {
    const dir = tmp()
    const path = join(dir, 'addrbook.json')
    const { mkdirSync } = await import('node:fs')
    mkdirSync(path)
    await expect(new AddrBook({ filePath: path }).save()).rejects.toMatchObject({ code: 'ERR_NOT_AN_ADDRBOOK', message: /is a directory/ })
    expect(readdirSync(dir)).toEqual(['addrbook.json'])
  })

  it('caps the ban list in size (the ban ending soonest goes) and in duration, also for bans loaded from a file', async () => {
    let now = 1_000_000_000_000
    const book = new AddrBook({ strict: false, maxBans: 100, maxBanMs: 3600_000, now: () => now })
    const banned: NetAddress[] = []
    for (let i = 0; i < 250; i++) {
      const a = addr(1 + (i % 250), i)
      book.addAddress(a, a)
      book.markBad(a, 60_000 + i) // later bans end later
      banned.push(a)
      now += 1
    }
    expect(book.sizeBanned).toBe(100)
    expect(banned.slice(150).every(a => book.isBanned(a.id))).toBe(true)
    expect(banned.slice(0, 150).some(a => book.isBanned(a.id))).toBe(false)
    const long = addr(9, 9999)
    book.addAddress(long, long)
    book.markBad(long, 10 * 365 * 24 * 3600_000)
    expect(book.get(long.id)).toBeUndefined()
    now += 3600_000 + 1
    expect(book.isBanned(long.id)).toBe(false)
    // A file holding 300 bans, one of them for a century: loaded capped in size and duration.
    const path = join(tmp(), 'addrbook.json')
    const big = new AddrBook({ filePath: path, strict: false, maxBans: 1000, maxBanMs: 100 * 365 * 24 * 3600_000, now: () => now })
    const century = addr(1, 20_000)
    for (let i = 0; i < 300; i++) { const a = i === 0 ? century : addr(1 + (i % 250), 20_000 + i); big.addAddress(a, a); big.markBad(a, i === 0 ? 100 * 365 * 24 * 3600_000 : 60_000) }
    await big.save()
    const loaded = await AddrBook.load(path, { strict: false, maxBans: 100, maxBanMs: 3600_000, now: () => now })
    expect(loaded.sizeBanned).toBe(100)
    expect(loaded.isBanned(century.id)).toBe(true)
    now += 3600_000 + 1
    expect(loaded.isBanned(century.id)).toBe(false)
  })

  it('round-trips bans and a large book through a save', async () => {
    const path = join(tmp(), 'addrbook.json')
    const book = new AddrBook({ filePath: path })
    const all: NetAddress[] = []
    for (let i = 0; i < 2000; i++) { const a = addr(1 + (i % 250), i); if (book.addAddress(a, addr(1 + ((i * 13) % 250))).added) all.push(a) }
    for (const a of all.slice(0, 100)) book.markGood(a)
    book.markBad(all[150]!, 3600_000)
    await book.save()
    const loaded = await AddrBook.load(path)
    expect(loaded.size).toBe(book.size)
    expect(loaded.sizeOld).toBe(book.sizeOld)
    expect(loaded.isBanned(all[150]!.id)).toBe(true)
    for (const ka of book.entries()) expect(loaded.get(ka.addr.id)?.buckets).toEqual(ka.buckets)
  })
})
