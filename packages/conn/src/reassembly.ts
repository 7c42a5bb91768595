/**
 * Receive-side reassembly of one channel's messages. Each fragment is copied into a buffer of the
 * channel's own, so a 1-byte fragment costs 1 byte, not the whole decrypted read chunk it arrived
 * in (keeping views pinned ~1 KB per fragment). Every channel of a connection draws on one shared
 * budget, so a peer cannot hold unfinished messages on all channels at once beyond it.
 *
 * A message of one packet is handed out as a view of the read chunk when it is at least
 * 1/VIEW_SHARE of that chunk's memory (no copy, and a kept message pins at most VIEW_SHARE times
 * its size); a smaller one is copied.
 */
import { Buffer } from 'node:buffer'
import { ChannelMessageTooLargeError, ReassemblyBudgetError } from './errors.js'

export const VIEW_SHARE = 8
/**
 * The first buffer of a message is as large as the channel's previous multi-packet message (up to
 * this much), so a stream of equal messages is copied once instead of through doubling buffers.
 */
export const SIZE_HINT_MAX = 1 << 20

/** Bytes held by unfinished messages across a connection's channels. */
export class ReassemblyBudget {
  readonly limit: number
  used = 0
  constructor (limit: number) {
    this.limit = limit
  }
}

export class Reassembler {
  private buf: Buffer | undefined
  /** Bytes of the unfinished message received so far. */
  length = 0
  private readonly channelId: number
  private readonly initial: number
  private readonly capacity: number
  private readonly budget: ReassemblyBudget
  /** Size of the last message that took more than one packet (capped at SIZE_HINT_MAX). */
  private hint = 0

  /** `initial`: first buffer size (recvBufferCapacity); `capacity`: largest message (recvMessageCapacity). */
  constructor (channelId: number, initial: number, capacity: number, budget: ReassemblyBudget) {
    this.channelId = channelId
    this.initial = initial
    this.capacity = capacity
    this.budget = budget
  }

  /** Bytes allocated for the unfinished message (what it costs the budget). */
  get allocated (): number {
    return this.buf?.length ?? 0
  }

  /** Adds a fragment; throws when the message outgrows its channel or the connection's budget. */
  append (data: Uint8Array): void {
    const size = this.length + data.length
    if (size > this.capacity) throw new ChannelMessageTooLargeError(this.channelId, size, this.capacity)
    if (data.length === 0) return
    if (this.buf === undefined || this.buf.length < size) this.grow(size)
    this.buf!.set(data, this.length)
    this.length = size
  }

  /** append() of `src[start, end)`, without a view of it. */
  appendRange (src: Uint8Array, start: number, end: number): void {
    const n = end - start
    const size = this.length + n
    if (size > this.capacity) throw new ChannelMessageTooLargeError(this.channelId, size, this.capacity)
    if (n === 0) return
    if (this.buf === undefined || this.buf.length < size) this.grow(size)
    copyRange(src, start, end, this.buf!, this.length)
    this.length = size
  }

  /** The whole message (what came before plus `last`), owned by the caller; the buffer is released. */
  finish (last: Uint8Array): Buffer {
    return this.finishRange(last, 0, last.length)
  }

  /**
   * finish() with the last fragment `src[start, end)`. `src` must be owned by the connection (a read
   * chunk nobody else writes to): a lone packet may be handed out as a view of it.
   */
  finishRange (src: Uint8Array, start: number, end: number): Buffer {
    if (this.length === 0) {
      const n = end - start
      if (n > this.capacity) throw new ChannelMessageTooLargeError(this.channelId, n, this.capacity)
      if (n * VIEW_SHARE >= src.buffer.byteLength) return Buffer.from(src.buffer, src.byteOffset + start, n)
      // A small view would pin a read chunk many times its size: copy it.
      const msg = Buffer.allocUnsafe(n)
      copyRange(src, start, end, msg, 0)
      return msg
    }
    this.appendRange(src, start, end)
    const buf = this.buf!
    const n = this.length
    this.hint = Math.min(n, SIZE_HINT_MAX)
    // Hand the buffer over when little of it is slack; otherwise copy out exactly the message.
    const msg = buf.length - n <= n >> 2 ? buf.subarray(0, n) : Buffer.from(buf.subarray(0, n))
    this.reset()
    return msg
  }

  reset (): void {
    this.budget.used -= this.allocated
    this.buf = undefined
    this.length = 0
  }

  private grow (size: number): void {
    const old = this.allocated
    // Double (from recvBufferCapacity) to keep copies linear; never past the channel's limit.
    let want = Math.min(this.capacity, Math.max(size, old === 0 ? Math.max(this.initial, this.hint) : old * 2))
    if (this.budget.used - old + want > this.budget.limit) want = size
    if (this.budget.used - old + want > this.budget.limit) throw new ReassemblyBudgetError(this.channelId, this.budget.used - old + want, this.budget.limit)
    // allocUnsafeSlow: a small buffer must not be a slice of (and pin) the shared 8 KiB pool.
    const next = Buffer.allocUnsafeSlow(want)
    if (this.buf !== undefined) next.set(this.buf.subarray(0, this.length))
    this.budget.used += want - old
    this.buf = next
  }
}

/** dst.set() of `src[start, end)` through a plain Uint8Array view (cheaper than Buffer's). */
function copyRange (src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): void {
  dst.set(new Uint8Array(src.buffer, src.byteOffset + start, end - start), at)
}
