/**
 * The address book, CometBFT's way: 256 "new" buckets for addresses heard of, 64 "old" buckets
 * for addresses that worked, 64 entries each; placement keyed by a secret and by the network
 * groups of the address and of whoever told us, so that no single source can fill the book
 * (docs/pex.md). It persists as CometBFT's addrbook.json, and every refusal has a reason.
 */
import crypto from 'node:crypto'
import { EventEmitter } from 'node:events'
import { promises as fs } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import createDebug from 'debug'
import { NetAddress, isValidNodeId, normaliseIp, writeFileAtomic } from '@switchyard/p2p'
import { AddrBookFileError, NotAnAddrBookError } from './errors.js'
import { formatGoTime, parseGoTime } from './go-time.js'
import { groupKey } from './groups.js'

const log = createDebug('switchyard:pex:addrbook')

export const BUCKET_TYPE_NEW = 1
export const BUCKET_TYPE_OLD = 2
export const NEW_BUCKET_COUNT = 256
export const OLD_BUCKET_COUNT = 64
export const BUCKET_SIZE = 64
const NEW_BUCKETS_PER_GROUP = 32
const OLD_BUCKETS_PER_GROUP = 4
export const MAX_NEW_BUCKETS_PER_ADDRESS = 4
export const NEED_ADDRESS_THRESHOLD = 1000
const DAY = 24 * 3600 * 1000
const NUM_MISSING_DAYS = 7
const NUM_RETRIES = 3
const MAX_FAILURES = 10
const MIN_BAD_DAYS = 7
const GET_SELECTION_PERCENT = 23
const MIN_GET_SELECTION = 32
const MAX_GET_SELECTION = 250
export const DEFAULT_BAN_MS = DAY
/** Bans kept at most (the ban list is saved with the book, so it must stay small). */
export const DEFAULT_MAX_BANS = 4096
/** Longest ban, whatever a caller or a loaded file asks for. */
export const DEFAULT_MAX_BAN_MS = 7 * DAY

export class KnownAddress {
  addr: NetAddress
  src: NetAddress
  buckets: number[] = []
  attempts = 0
  bucketType = BUCKET_TYPE_NEW
  lastAttempt = 0
  lastSuccess = 0
  lastBanTime = 0
  /** When a handshake at exactly this ip:port last proved this ID (0: never, i.e. unverified). */
  lastReached = 0
  /** Failed dials of this ip:port, all time (attempts counts those since the last success). */
  failures = 0

  constructor (addr: NetAddress, src: NetAddress) {
    this.addr = addr
    this.src = src
  }

  get isOld (): boolean { return this.bucketType === BUCKET_TYPE_OLD }

  /** Evictable: never when old or tried in the last minute; when stale or failing (CometBFT's rules). */
  isBad (now: number): boolean {
    if (this.isOld) return false
    if (this.lastAttempt > now - 60_000) return false
    if (this.lastAttempt < now - NUM_MISSING_DAYS * DAY) return true
    if (this.lastSuccess === 0 && this.attempts >= NUM_RETRIES) return true
    if (this.lastSuccess < now - MIN_BAD_DAYS * DAY && this.attempts >= MAX_FAILURES) return true
    return false
  }
}

export type RefusalReason =
  | 'invalid' | 'banned' | 'private' | 'ours' | 'non-routable' | 'known-old' | 'in-enough-buckets' | 'not-chosen'

export interface AddResult { added: boolean, reason?: RefusalReason }

export interface AddrBookOptions {
  /** Where addrbook.json lives; without it the book is in memory only. */
  filePath?: string
  /** Refuse non-routable addresses (config addr_book_strict, default true). */
  strict?: boolean
  /** Save every this many ms while started (default 2 min). */
  saveInterval?: number
  /** Bans kept at most; the ban ending soonest goes first (default 4096). */
  maxBans?: number
  /** Longest ban in ms; longer requests and loaded bans are cut to it (default 7 days). */
  maxBanMs?: number
  random?: () => number
  now?: () => number
}

export interface AddrBookEvents {
  refused: [{ address: string, reason: RefusalReason }]
  /** A periodic save failed; the previous file is intact and the temp file removed. */
  'save-failed': [Error]
}

export class AddrBook extends EventEmitter<AddrBookEvents> {
  readonly key: string
  readonly strict: boolean
  readonly filePath: string | undefined
  /** Refusals so far, by reason (for logs and metrics). */
  readonly refusals = new Map<RefusalReason, number>()
  private readonly hashKey = crypto.randomBytes(32)
  private readonly newBuckets: Array<Map<string, KnownAddress>> = Array.from({ length: NEW_BUCKET_COUNT }, () => new Map())
  private readonly oldBuckets: Array<Map<string, KnownAddress>> = Array.from({ length: OLD_BUCKET_COUNT }, () => new Map())
  private readonly lookup = new Map<string, KnownAddress>()
  private readonly bad = new Map<string, KnownAddress>()
  private readonly ours = new Set<string>()
  private readonly privateIds = new Set<string>()
  private readonly random: () => number
  private readonly now: () => number
  private readonly saveInterval: number
  private readonly maxBans: number
  private readonly maxBanMs: number
  private nNew = 0
  private nOld = 0
  private timer: NodeJS.Timeout | undefined

  constructor (options: AddrBookOptions = {}, key = crypto.randomBytes(12).toString('hex')) {
    super()
    this.key = key
    this.strict = options.strict ?? true
    this.filePath = options.filePath
    this.random = options.random ?? Math.random
    this.now = options.now ?? Date.now
    this.saveInterval = options.saveInterval ?? 120_000
    this.maxBans = options.maxBans ?? DEFAULT_MAX_BANS
    this.maxBanMs = options.maxBanMs ?? DEFAULT_MAX_BAN_MS
    if (!(Number.isSafeInteger(this.maxBans) && this.maxBans >= 1)) throw new RangeError(`AddrBook option maxBans must be an integer >= 1, got ${String(this.maxBans)}`)
    if (!(this.maxBanMs >= 0 && Number.isFinite(this.maxBanMs))) throw new RangeError(`AddrBook option maxBanMs must be a finite number >= 0, got ${String(this.maxBanMs)}`)
  }

  get size (): number { return this.lookup.size }
  get sizeNew (): number { return this.nNew }
  get sizeOld (): number { return this.nOld }
  get sizeBanned (): number { return this.bad.size }

  needMoreAddrs (): boolean { return this.lookup.size < NEED_ADDRESS_THRESHOLD }

  addOurAddress (addr: NetAddress): void { this.ours.add(addr.toString()) }
  isOurAddress (addr: NetAddress): boolean { return this.ours.has(addr.toString()) }
  addPrivateIds (ids: Iterable<string>): void { for (const id of ids) this.privateIds.add(id) }

  has (id: string): boolean { return this.lookup.has(id) }
  get (id: string): KnownAddress | undefined { return this.lookup.get(id) }

  isBanned (id: string): boolean {
    const ka = this.bad.get(id)
    return ka !== undefined && ka.lastBanTime > this.now()
  }

  /**
   * Adds an address heard from `src`; refusals are counted and emitted with their reason.
   * `allowNonRoutable` admits private/LAN addresses into a strict book (for LAN discovery, where
   * the address is the datagram's own source).
   */
  addAddress (addr: NetAddress, src: NetAddress, options: { allowNonRoutable?: boolean } = {}): AddResult {
    const reason = this.refusal(addr, src, options.allowNonRoutable === true)
    if (reason !== undefined) return this.refuse(addr, reason)
    let ka = this.lookup.get(addr.id)
    if (ka !== undefined) {
      // A known ID keeps its stored address: a new IP for it only picks another bucket.
      if (ka.isOld) return this.refuse(addr, 'known-old')
      if (ka.buckets.length >= MAX_NEW_BUCKETS_PER_ADDRESS) return this.refuse(addr, 'in-enough-buckets')
      if (this.random() * 2 * ka.buckets.length >= 1) return this.refuse(addr, 'not-chosen')
    } else {
      ka = new KnownAddress(addr, src)
      ka.lastAttempt = this.now()
    }
    this.addToNewBucket(ka, this.calcNewBucket(addr, src))
    return { added: true }
  }

  private refusal (addr: NetAddress, src: NetAddress, allowNonRoutable: boolean): RefusalReason | undefined {
    if (!addr.isValid()) return 'invalid'
    if (this.isBanned(addr.id)) return 'banned'
    if (this.privateIds.has(addr.id) || this.privateIds.has(src.id)) return 'private'
    if (this.ours.has(addr.toString())) return 'ours'
    if (this.strict && !allowNonRoutable && !addr.isRoutable()) return 'non-routable'
    return undefined
  }

  private refuse (addr: NetAddress, reason: RefusalReason): AddResult {
    this.refusals.set(reason, (this.refusals.get(reason) ?? 0) + 1)
    log('refused %s: %s', addr.toString(), reason)
    this.emit('refused', { address: addr.toString(), reason })
    return { added: false, reason }
  }

  /**
   * A handshake we made to `addr` proved its ID: that very ip:port is recorded as reached and moves
   * to an old bucket. When the book held another ip:port for the ID (heard from PEX or a replayed
   * LAN announcement, never proven there), the proven address replaces it: an unproven claim is
   * never promoted just because the ID showed up somewhere else.
   */
  markGood (addr: NetAddress): void {
    let ka = this.lookup.get(addr.id)
    if (ka === undefined) return
    if (ka.addr.dialString !== addr.dialString) {
      log('%s proven at %s replaces %s', addr.id, addr.dialString, ka.addr.dialString)
      this.removeFromAllBuckets(ka)
      ka = new KnownAddress(addr, addr)
      this.addToNewBucket(ka, this.calcNewBucket(addr, addr))
    }
    const now = this.now()
    ka.lastAttempt = now
    ka.lastSuccess = now
    ka.lastReached = now
    ka.attempts = 0
    if (!ka.isOld) this.moveToOld(ka)
  }

  /** A failed dial: counted against the stored entry only when it is that very ip:port. */
  markAttempt (addr: NetAddress): void {
    const ka = this.lookup.get(addr.id)
    if (ka === undefined || ka.addr.dialString !== addr.dialString) return
    ka.lastAttempt = this.now()
    ka.attempts++
    ka.failures++
  }

  /**
   * Removes the address and bans its ID for `banMs`, at most maxBanMs (only an ID the book knows).
   * The ban list is capped at maxBans: expired bans go first, then the ban ending soonest.
   */
  markBad (addr: NetAddress, banMs = DEFAULT_BAN_MS): void {
    const ka = this.lookup.get(addr.id) ?? this.bad.get(addr.id)
    if (ka === undefined) return
    const now = this.now()
    ka.lastBanTime = Math.min(Math.max(ka.lastBanTime, now + banMs), now + this.maxBanMs)
    this.removeFromAllBuckets(ka)
    // Re-inserting keeps the Map ordered by when each ban was last set.
    this.bad.delete(ka.addr.id)
    this.bad.set(ka.addr.id, ka)
    this.capBans()
    log('banned %s until %s', ka.addr.toString(), new Date(ka.lastBanTime).toISOString())
  }

  /** Drops expired bans, then the bans ending soonest, until at most maxBans remain. */
  private capBans (): void {
    if (this.bad.size <= this.maxBans) return
    const now = this.now()
    for (const [id, ka] of this.bad) if (ka.lastBanTime <= now) this.bad.delete(id)
    while (this.bad.size > this.maxBans) {
      let soonest: KnownAddress | undefined
      for (const ka of this.bad.values()) if (soonest === undefined || ka.lastBanTime < soonest.lastBanTime) soonest = ka
      this.bad.delete(soonest!.addr.id)
      log('ban list full: dropped the ban of %s', soonest!.addr.toString())
    }
  }

  removeAddress (addr: NetAddress): void {
    const ka = this.lookup.get(addr.id)
    if (ka !== undefined) this.removeFromAllBuckets(ka)
  }

  /** Puts addresses whose ban has expired back into new buckets. */
  reinstateBadPeers (): number {
    let n = 0
    const now = this.now()
    for (const [id, ka] of this.bad) {
      if (ka.lastBanTime > now) continue
      this.bad.delete(id)
      // CometBFT leaves an entry banned while old stuck as "old" and loses it; we demote it.
      ka.bucketType = BUCKET_TYPE_NEW
      ka.buckets = []
      this.addToNewBucket(ka, this.calcNewBucket(ka.addr, ka.src))
      n++
    }
    return n
  }

  /** A random address, from old or new buckets with weights √nOld·(100−bias) and √nNew·bias. */
  pickAddress (biasTowardsNew: number): NetAddress | undefined {
    const bias = Math.max(0, Math.min(100, biasTowardsNew))
    if (this.lookup.size === 0) return undefined
    const oldC = Math.sqrt(this.nOld) * (100 - bias)
    const newC = Math.sqrt(this.nNew) * bias
    const fromOld = this.random() * (oldC + newC) < oldC
    const buckets = fromOld ? this.oldBuckets : this.newBuckets
    if ((fromOld ? this.nOld : this.nNew) === 0) return undefined
    let bucket: Map<string, KnownAddress> | undefined
    for (let i = 0; i < 64 && bucket === undefined; i++) {
      const b = buckets[Math.floor(this.random() * buckets.length)]!
      if (b.size > 0) bucket = b
    }
    // Sparse book: fall back to choosing among the non-empty buckets.
    if (bucket === undefined) {
      const nonEmpty = buckets.filter(b => b.size > 0)
      bucket = nonEmpty[Math.floor(this.random() * nonEmpty.length)]!
    }
    const entries = [...bucket.values()]
    return entries[Math.floor(this.random() * entries.length)]!.addr
  }

  private selectionSize (): number {
    const size = this.lookup.size
    return Math.min(MAX_GET_SELECTION, Math.max(Math.min(MIN_GET_SELECTION, size), Math.floor(size * GET_SELECTION_PERCENT / 100)))
  }

  private shuffled<T> (xs: T[], take: number): T[] {
    for (let i = 0; i < Math.min(take, xs.length); i++) {
      const j = i + Math.floor(this.random() * (xs.length - i))
      ;[xs[i], xs[j]] = [xs[j]!, xs[i]!]
    }
    return xs.slice(0, take)
  }

  /** A random selection for a PexAddrs answer: max(min(32, size), 23 % of size), at most 250. */
  getSelection (): NetAddress[] {
    return this.shuffled([...this.lookup.values()], this.selectionSize()).map(ka => ka.addr)
  }

  /** Like getSelection, with `biasTowardsNew` percent from new buckets (seeds use 30). */
  getSelectionWithBias (biasTowardsNew: number): NetAddress[] {
    const n = this.selectionSize()
    const wantNew = Math.max(Math.round(Math.max(0, Math.min(100, biasTowardsNew)) * n / 100), n - this.nOld)
    const all = [...this.lookup.values()]
    const picked = this.shuffled(all.filter(ka => !ka.isOld), wantNew)
    picked.push(...this.shuffled(all.filter(ka => ka.isOld), n - picked.length))
    return picked.map(ka => ka.addr)
  }

  /** Entries proven by a handshake within the last `windowMs` (what a verifying seed serves). */
  verifiedEntries (windowMs: number): KnownAddress[] {
    const since = this.now() - windowMs
    return [...this.lookup.values()].filter(ka => ka.lastReached > 0 && ka.lastReached >= since)
  }

  /** A PexAddrs answer from verified entries only, sized by the same rule as getSelection. */
  getVerifiedSelection (windowMs: number): NetAddress[] {
    const verified = this.verifiedEntries(windowMs)
    const n = Math.min(MAX_GET_SELECTION, Math.max(Math.min(MIN_GET_SELECTION, verified.length), Math.floor(verified.length * GET_SELECTION_PERCENT / 100)))
    return this.shuffled(verified, n).map(ka => ka.addr)
  }

  /** known: entries; verified: ever reached by a handshake; fresh: reached within `windowMs`. */
  verificationCounts (windowMs: number): { known: number, verified: number, fresh: number } {
    const since = this.now() - windowMs
    let verified = 0
    let fresh = 0
    for (const ka of this.lookup.values()) {
      if (ka.lastReached === 0) continue
      verified++
      if (ka.lastReached >= since) fresh++
    }
    return { known: this.lookup.size, verified, fresh }
  }

  /** All entries (for stats and tests). */
  entries (): KnownAddress[] {
    return [...this.lookup.values()]
  }

  // ---- placement ----

  private hash (...parts: Array<string | Uint8Array>): bigint {
    const h = crypto.createHmac('sha256', this.hashKey)
    for (const p of parts) h.update(p)
    return h.digest().readBigUInt64BE(0)
  }

  private group (addr: NetAddress): string {
    return groupKey(addr, this.strict)
  }

  calcNewBucket (addr: NetAddress, src: NetAddress): number {
    const h1 = this.hash(this.key, this.group(addr), '|', this.group(src)) % BigInt(NEW_BUCKETS_PER_GROUP)
    const b = Buffer.alloc(8)
    b.writeBigUInt64BE(h1)
    return Number(this.hash(this.key, this.group(src), '|', b) % BigInt(NEW_BUCKET_COUNT))
  }

  calcOldBucket (addr: NetAddress): number {
    const h1 = this.hash(this.key, addr.toString()) % BigInt(OLD_BUCKETS_PER_GROUP)
    const b = Buffer.alloc(8)
    b.writeBigUInt64BE(h1)
    return Number(this.hash(this.key, this.group(addr), '|', b) % BigInt(OLD_BUCKET_COUNT))
  }

  private addToNewBucket (ka: KnownAddress, idx: number): void {
    const bucket = this.newBuckets[idx]!
    if (bucket.has(ka.addr.id)) return
    if (bucket.size >= BUCKET_SIZE) this.expireNew(idx)
    bucket.set(ka.addr.id, ka)
    ka.bucketType = BUCKET_TYPE_NEW
    ka.buckets.push(idx)
    if (ka.buckets.length === 1) this.nNew++
    this.lookup.set(ka.addr.id, ka)
  }

  /** Makes room in a full new bucket: drop a bad entry, else the one attempted longest ago. */
  private expireNew (idx: number): void {
    const bucket = this.newBuckets[idx]!
    const now = this.now()
    let victim: KnownAddress | undefined
    for (const ka of bucket.values()) {
      if (ka.isBad(now)) { victim = ka; break }
      if (victim === undefined || ka.lastAttempt < victim.lastAttempt) victim = ka
    }
    if (victim !== undefined) this.removeFromBucket(victim, BUCKET_TYPE_NEW, idx)
  }

  private removeFromBucket (ka: KnownAddress, type: number, idx: number): void {
    const bucket = (type === BUCKET_TYPE_NEW ? this.newBuckets : this.oldBuckets)[idx]!
    if (!bucket.delete(ka.addr.id)) return
    ka.buckets = ka.buckets.filter(b => b !== idx)
    if (ka.buckets.length === 0) {
      if (type === BUCKET_TYPE_NEW) this.nNew--
      else this.nOld--
      this.lookup.delete(ka.addr.id)
    }
  }

  private removeFromAllBuckets (ka: KnownAddress): void {
    for (const idx of [...ka.buckets]) this.removeFromBucket(ka, ka.bucketType, idx)
    this.lookup.delete(ka.addr.id)
  }

  private moveToOld (ka: KnownAddress): void {
    for (const idx of [...ka.buckets]) this.removeFromBucket(ka, BUCKET_TYPE_NEW, idx)
    const idx = this.calcOldBucket(ka.addr)
    const bucket = this.oldBuckets[idx]!
    if (bucket.size >= BUCKET_SIZE) {
      // Full: the entry attempted longest ago goes back to a new bucket (properly demoted).
      let oldest: KnownAddress | undefined
      for (const x of bucket.values()) if (oldest === undefined || x.lastAttempt < oldest.lastAttempt) oldest = x
      if (oldest !== undefined) {
        this.removeFromBucket(oldest, BUCKET_TYPE_OLD, idx)
        oldest.bucketType = BUCKET_TYPE_NEW
        this.addToNewBucket(oldest, this.calcNewBucket(oldest.addr, oldest.src))
      }
    }
    bucket.set(ka.addr.id, ka)
    ka.bucketType = BUCKET_TYPE_OLD
    ka.buckets = [idx]
    this.nOld++
    this.lookup.set(ka.addr.id, ka)
  }

  // ---- persistence ----

  toJSON (): unknown {
    const addr = (a: NetAddress): object => ({ id: a.id, ip: a.ip, port: a.port })
    return {
      key: this.key,
      addrs: [...this.lookup.values(), ...this.bad.values()].map(ka => ({
        addr: addr(ka.addr),
        src: addr(ka.src),
        buckets: ka.buckets.length > 0 ? ka.buckets : null,
        attempts: ka.attempts,
        bucket_type: ka.bucketType,
        last_attempt: formatGoTime(ka.lastAttempt),
        last_success: formatGoTime(ka.lastSuccess),
        last_ban_time: formatGoTime(ka.lastBanTime),
        // Ours, beyond CometBFT's fields: Go's decoder ignores unknown keys, so CometBFT still loads
        // the file. Written only when set, so a book we never verified is exactly CometBFT's format.
        ...(ka.lastReached > 0 ? { last_reached: formatGoTime(ka.lastReached) } : {}),
        ...(ka.failures > 0 ? { failures: ka.failures } : {})
      }))
    }
  }

  /**
   * Writes addrbook.json atomically (temp file, fsync, rename), tab-indented as Go writes it.
   * Refuses (NotAnAddrBookError) when something other than a regular file took the path meanwhile.
   */
  async save (path = this.filePath): Promise<void> {
    if (path === undefined) return
    await fs.mkdir(dirname(path), { recursive: true })
    const kind = await fileKind(path)
    if (kind !== 'absent' && kind !== 'file') throw new NotAnAddrBookError(path, `is ${kind}`)
    await writeFileAtomic(path, JSON.stringify(this.toJSON(), null, '\t'), 0o644)
    log('saved %d addresses to %s', this.lookup.size, path)
  }

  /** Saves every saveInterval ms until stop(). */
  start (): void {
    if (this.timer !== undefined || this.filePath === undefined) return
    this.timer = setInterval(() => {
      this.save().catch(err => {
        log('save failed: %s', (err as Error).message)
        this.emit('save-failed', err as Error)
      })
    }, this.saveInterval)
    this.timer.unref()
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.save()
  }

  /**
   * Loads addrbook.json (an absent file gives an empty book). Anything at the path that is not an
   * address book — not a regular file, a symbolic link, not JSON, or JSON without both "key" and
   * "addrs" (`{}` included) — throws NotAnAddrBookError and is left untouched. A book whose members
   * are broken is moved aside to `<path>.corrupt-<time>` and AddrBookFileError is thrown: it is
   * never silently overwritten. Entries that cannot be used (bad address, unknown bucket type) are skipped.
   */
  static async load (path: string, options: Omit<AddrBookOptions, 'filePath'> = {}): Promise<AddrBook> {
    const kind = await fileKind(path)
    if (kind === 'absent') {
      await removeStaleTemps(path)
      return new AddrBook({ ...options, filePath: path })
    }
    if (kind !== 'file') throw new NotAnAddrBookError(path, `is ${kind}`)
    let text: string
    try {
      text = await fs.readFile(path, 'utf8')
    } catch (err) {
      throw new AddrBookFileError(path, `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, undefined, { cause: err })
    }
    const notBook = notABook(text)
    if (notBook !== undefined) throw new NotAnAddrBookError(path, notBook)
    // Only now is the folder known to be a book's: temp files of a save killed midway can go.
    await removeStaleTemps(path)
    try {
      return AddrBook.fromText(text, { ...options, filePath: path })
    } catch (err) {
      if (!(err instanceof AddrBookFileError)) throw err
      const aside = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`
      await fs.rename(path, aside)
      throw new AddrBookFileError(path, err.message.replace(/^[^:]*: /, ''), aside, { cause: err.cause })
    }
  }

  /**
   * Builds a book from addrbook.json text. Throws AddrBookFileError when the text is not an
   * address book; entries that cannot be used are skipped.
   */
  static fromText (text: string, options: AddrBookOptions = {}): AddrBook {
    const path = options.filePath ?? 'addrbook.json'
    let doc: { key?: unknown, addrs?: unknown }
    try {
      doc = lowerKeys(JSON.parse(text)) as typeof doc
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('not a JSON object')
      if (doc.key !== undefined && (typeof doc.key !== 'string' || !/^[0-9a-f]*$/i.test(doc.key))) throw new Error('"key" is not a hex string')
      if (doc.addrs !== undefined && doc.addrs !== null && !Array.isArray(doc.addrs)) throw new Error('"addrs" is not an array')
    } catch (err) {
      throw new AddrBookFileError(path, `not a valid address book (${(err as Error).message})`, undefined, { cause: err })
    }
    const book = new AddrBook(options, typeof doc.key === 'string' && doc.key !== '' ? doc.key : undefined)
    let skipped = 0
    for (const raw of (doc.addrs ?? []) as unknown[]) {
      if (!book.restore(raw)) skipped++
    }
    book.capBans()
    if (skipped > 0) log('%s: skipped %d unusable entries', path, skipped)
    log('loaded %d addresses from %s', book.size, path)
    return book
  }

  /** Puts one saved entry back where the file says it was; false when it cannot be used. */
  private restore (raw: unknown): boolean {
    try {
      const e = raw as Record<string, any>
      const addr = savedAddress(e.addr)
      const src = savedAddress(e.src)
      const type = e.bucket_type
      if (type !== BUCKET_TYPE_NEW && type !== BUCKET_TYPE_OLD) return false
      const ka = new KnownAddress(addr, src)
      ka.attempts = Number.isInteger(e.attempts) ? e.attempts : 0
      ka.lastAttempt = parseGoTime(e.last_attempt ?? '0001-01-01T00:00:00Z')
      ka.lastSuccess = parseGoTime(e.last_success ?? '0001-01-01T00:00:00Z')
      ka.lastBanTime = Math.min(parseGoTime(e.last_ban_time ?? '0001-01-01T00:00:00Z'), this.now() + this.maxBanMs)
      ka.lastReached = typeof e.last_reached === 'string' ? parseGoTime(e.last_reached) : 0
      ka.failures = Number.isSafeInteger(e.failures) && e.failures > 0 ? e.failures : 0
      if (this.lookup.has(addr.id) || this.bad.has(addr.id)) return false
      const buckets = Array.isArray(e.buckets) ? e.buckets.filter((b: unknown) => Number.isInteger(b)) as number[] : []
      if (ka.lastBanTime > this.now()) {
        ka.bucketType = type
        this.bad.set(addr.id, ka)
        return true
      }
      if (type === BUCKET_TYPE_OLD) {
        const idx = buckets.length === 1 && buckets[0]! >= 0 && buckets[0]! < OLD_BUCKET_COUNT ? buckets[0]! : this.calcOldBucket(addr)
        const bucket = this.oldBuckets[idx]!
        if (bucket.size >= BUCKET_SIZE) return false
        bucket.set(addr.id, ka)
        ka.bucketType = BUCKET_TYPE_OLD
        ka.buckets = [idx]
        this.nOld++
        this.lookup.set(addr.id, ka)
        return true
      }
      const valid = buckets.filter(b => b >= 0 && b < NEW_BUCKET_COUNT).slice(0, MAX_NEW_BUCKETS_PER_ADDRESS)
      for (const idx of valid.length > 0 ? valid : [this.calcNewBucket(addr, src)]) this.addToNewBucket(ka, idx)
      return true
    } catch {
      return false
    }
  }
}

function savedAddress (x: unknown): NetAddress {
  const a = x as { id?: unknown, ip?: unknown, port?: unknown } | null
  if (a === null || typeof a !== 'object') throw new Error('missing address')
  const id = typeof a.id === 'string' ? a.id : ''
  if (!isValidNodeId(id)) throw new Error('bad id')
  if (typeof a.ip !== 'string' || typeof a.port !== 'number' || !Number.isInteger(a.port) || a.port < 0 || a.port > 65535) throw new Error('bad ip or port')
  const addr = NetAddress.parse(`${id}@${a.ip.includes(':') ? `[${a.ip}]` : a.ip}:${a.port}`)
  return new NetAddress(addr.id, normaliseIp(addr.ip), addr.port)
}

/** Go's JSON decoding matches keys case-insensitively; older books used "ID", "IP", "Port". */
function lowerKeys (x: unknown): unknown {
  if (Array.isArray(x)) return x.map(lowerKeys)
  if (x !== null && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k.toLowerCase(), lowerKeys(v)]))
  return x
}

type FileKind = 'absent' | 'file' | 'a symbolic link' | 'a directory' | 'a device' | 'a FIFO' | 'a socket'

/** What is at `path`, without following a symbolic link. */
async function fileKind (path: string): Promise<FileKind> {
  let st
  try {
    st = await fs.lstat(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent'
    throw new AddrBookFileError(path, `cannot inspect (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, undefined, { cause: err })
  }
  if (st.isFile()) return 'file'
  if (st.isSymbolicLink()) return 'a symbolic link'
  if (st.isDirectory()) return 'a directory'
  if (st.isFIFO()) return 'a FIFO'
  if (st.isSocket()) return 'a socket'
  return 'a device'
}

/**
 * Why the text is not an address book, or undefined when it is one. A book is a JSON object with
 * both "key" and "addrs" (any letter case, as Go reads it); CometBFT always writes both.
 */
function notABook (text: string): string | undefined {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    return 'is not JSON'
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'is JSON but not an object'
  const keys = new Set(Object.keys(doc).map(k => k.toLowerCase()))
  if (!keys.has('key') || !keys.has('addrs')) return 'is a JSON object without both "key" and "addrs"'
  return undefined
}

/**
 * Checks that a book can be saved at `path`: its folder exists or can be made, and a file can be
 * created there (a read-only home is found at start, not at the first save minutes later).
 */
export async function checkAddrBookWritable (path: string): Promise<void> {
  const dir = dirname(path)
  const probe = join(dir, `.${basename(path)}.${crypto.randomBytes(6).toString('hex')}.tmp`)
  try {
    await fs.mkdir(dir, { recursive: true })
    const fh = await fs.open(probe, 'wx', 0o600)
    await fh.close()
  } catch (err) {
    throw new AddrBookFileError(path, `cannot be saved: its folder is not writable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, undefined, { cause: err })
  }
  await fs.rm(probe, { force: true })
}

/** Temp files left by a save that was killed midway. */
async function removeStaleTemps (path: string): Promise<void> {
  const dir = dirname(path)
  const prefix = `.${basename(path)}.`
  let names: string[]
  try { names = await fs.readdir(dir) } catch { return }
  await Promise.all(names.filter(n => n.startsWith(prefix) && n.endsWith('.tmp')).map(async n => await fs.rm(join(dir, n), { force: true })))
}
