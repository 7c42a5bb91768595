/** Channel descriptors and the per-channel send/receive state of an MConnection. */
import { Reassembler, ReassemblyBudget } from './reassembly.js'

export interface ChannelDescriptor {
  /** Channel id, 0–255. Ids ≥ 0x80 take two varint bytes: see docs/protocol.md before using them. */
  id: number
  /** Relative share of the link when several channels have data; must be > 0. */
  priority: number
  /** Whole messages queued per channel before send() waits and trySend() fails (CometBFT: 1). */
  sendQueueCapacity?: number
  /** Initial reassembly capacity hint in bytes (CometBFT: 4096); not a limit. */
  recvBufferCapacity?: number
  /** Largest message accepted on this channel; more closes the connection (CometBFT: 21 MiB). */
  recvMessageCapacity?: number
}

export type ResolvedChannelDescriptor = Required<ChannelDescriptor>

export const CHANNEL_DEFAULTS = {
  sendQueueCapacity: 1,
  recvBufferCapacity: 4096,
  recvMessageCapacity: 22020096
} as const

export function resolveChannel (d: ChannelDescriptor): ResolvedChannelDescriptor {
  if (!Number.isInteger(d.id) || d.id < 0 || d.id > 255) throw new RangeError(`channel id must be an integer 0–255, got ${d.id}`)
  if (!(d.priority > 0)) throw new RangeError(`channel ${d.id}: priority must be > 0, got ${d.priority}`)
  const r = {
    id: d.id,
    priority: d.priority,
    sendQueueCapacity: d.sendQueueCapacity || CHANNEL_DEFAULTS.sendQueueCapacity,
    recvBufferCapacity: d.recvBufferCapacity || CHANNEL_DEFAULTS.recvBufferCapacity,
    recvMessageCapacity: d.recvMessageCapacity || CHANNEL_DEFAULTS.recvMessageCapacity
  }
  for (const k of ['sendQueueCapacity', 'recvBufferCapacity', 'recvMessageCapacity'] as const) {
    if (!Number.isSafeInteger(r[k]) || r[k] < 1) throw new RangeError(`channel ${d.id}: ${k} must be a positive integer, got ${r[k]}`)
  }
  return r
}

interface Waiter {
  msg: Uint8Array
  done: (queued: boolean) => void
}

/** Send and receive state of one channel. */
export class ChannelState {
  readonly desc: ResolvedChannelDescriptor
  /** Whole messages waiting; bounded by desc.sendQueueCapacity. */
  readonly queue: Uint8Array[] = []
  /** Senders waiting for room, in arrival order; bounded by the connection's maxPendingSends. */
  readonly waiters: Waiter[] = []
  /** The message being cut into packets and how far we are. */
  sending: Uint8Array | undefined
  sendingOffset = 0
  /** Bytes written recently, decayed ×0.8 every 2 s; the scheduler's fairness measure. */
  recentlySent = 0
  /** Bytes queued or in `sending` not yet written. */
  pendingBytes = 0
  bytesSent = 0
  messagesSent = 0
  bytesReceived = 0
  messagesReceived = 0
  /** The message being reassembled, in a buffer of its own drawn from the connection's budget. */
  readonly recv: Reassembler

  constructor (desc: ResolvedChannelDescriptor, budget = new ReassemblyBudget(Infinity)) {
    this.desc = desc
    this.recv = new Reassembler(desc.id, Math.min(desc.recvBufferCapacity, desc.recvMessageCapacity), desc.recvMessageCapacity, budget)
  }

  get hasPending (): boolean {
    return this.sending !== undefined || this.queue.length > 0
  }

  enqueue (msg: Uint8Array): boolean {
    if (this.queue.length >= this.desc.sendQueueCapacity) return false
    this.queue.push(msg)
    this.pendingBytes += msg.length
    return true
  }

  /** Moves the next queued message into `sending` and lets the first waiter take the freed slot. */
  next (): Uint8Array | undefined {
    const msg = this.queue.shift()
    if (msg === undefined) return undefined
    this.sending = msg
    this.sendingOffset = 0
    const w = this.waiters.shift()
    if (w !== undefined) {
      this.queue.push(w.msg)
      this.pendingBytes += w.msg.length
      w.done(true)
    }
    return msg
  }
}
