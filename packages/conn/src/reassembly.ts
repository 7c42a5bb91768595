/**
 * Receive-side reassembly of one channel's messages. Each fragment is copied into a buffer of the
 * channel's own, so a 1-byte fragment costs 1 byte, not the whole decrypted read chunk it arrived
 * in (keeping views pinned ~1 KB per fragment). Every channel of a connection draws on one shared
 * budget, so a peer cannot hold unfinished messages on all channels at once beyond it.
 */
import { Buffer } from 'node:buffer'
import { ChannelMessageTooLargeError, ReassemblyBudgetError } from './errors.js'

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

  /** The whole message (what came before plus `last`), owned by the caller; the buffer is released. */
  finish (last: Uint8Array): Buffer {
    if (this.length === 0) {
      if (last.length > this.capacity) throw new ChannelMessageTooLargeError(this.channelId, last.length, this.capacity)
      // A lone packet is a view of a read chunk that a kept message must not pin: copy it.
      const msg = Buffer.allocUnsafe(last.length)
      msg.set(last)
      return msg
    }
    this.append(last)
    const buf = this.buf!
    const n = this.length
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
    let want = Math.min(this.capacity, Math.max(size, old === 0 ? this.initial : old * 2))
    if (this.budget.used - old + want > this.budget.limit) want = size
    if (this.budget.used - old + want > this.budget.limit) throw new ReassemblyBudgetError(this.channelId, this.budget.used - old + want, this.budget.limit)
    // allocUnsafeSlow: a small buffer must not be a slice of (and pin) the shared 8 KiB pool.
    const next = Buffer.allocUnsafeSlow(want)
    if (this.buf !== undefined) next.set(this.buf.subarray(0, this.length))
    this.budget.used += want - old
    this.buf = next
  }
}
