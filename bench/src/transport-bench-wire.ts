/**
 * What the WebSocket-vs-TCP benchmark's two processes share: the channels, the message layout
 * (seq u32, then bytes all equal to seq & 0xff) and the IPC messages.
 */
import { channel } from '@switchyard/p2p'

export const DATA = channel({ id: 0x70, priority: 1, sendQueueCapacity: 64, recvMessageCapacity: 1 << 20 })
export const ECHO = channel({ id: 0x71, priority: 5, sendQueueCapacity: 16, recvMessageCapacity: 1 << 16 })

export function benchMessage (seq: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(size)
  b.fill(seq & 0xff, 4)
  b.writeUInt32BE(seq >>> 0, 0)
  return b
}

const patterns = new Map<number, Buffer[]>()

/** Null when `m` is message `seq` of `size` bytes, else what is wrong (the body is compared with memcmp). */
export function checkMessage (m: Uint8Array, seq: number, size: number): string | null {
  if (m.length !== size) return `message ${seq}: ${m.length} bytes, expected ${size}`
  const b = Buffer.from(m.buffer, m.byteOffset, m.length)
  if (b.readUInt32BE(0) !== seq >>> 0) return `message ${seq}: got sequence number ${b.readUInt32BE(0)}`
  let p = patterns.get(size)
  if (p === undefined) {
    p = Array.from({ length: 256 }, (_, v) => Buffer.alloc(size - 4, v))
    patterns.set(size, p)
  }
  if (!b.subarray(4).equals(p[seq & 0xff]!)) return `message ${seq}: the body is not ${size - 4} bytes of ${seq & 0xff}`
  return null
}

export type ToReceiver = { type: 'expect', count: number, size: number } | { type: 'stop' }
export type FromReceiver =
  | { type: 'ready', tcp: string, ws: string }
  | { type: 'armed' }
  | { type: 'done', count: number, bytes: number, ms: number }
  | { type: 'failed', reason: string }
