/**
 * Bytes of messages sent and received, by message type: what CometBFT exports as
 * `message_send_bytes_total` / `message_receive_bytes_total`. Counted where messages are encoded
 * and decoded (the Switch and Peer), read by whoever exports metrics.
 */
import type { Channel } from './channel.js'

/** Distinct message types kept; a codec whose messageType() invents names cannot grow the maps. */
const MAX_TYPES = 256

export class MessageByteCounters {
  readonly sent = new Map<string, number>()
  readonly received = new Map<string, number>()

  add (direction: 'sent' | 'received', type: string, bytes: number): void {
    const m = direction === 'sent' ? this.sent : this.received
    const have = m.get(type)
    if (have !== undefined) m.set(type, have + bytes)
    else if (m.size < MAX_TYPES) m.set(type, bytes)
    else m.set('other', (m.get('other') ?? 0) + bytes)
  }
}

/**
 * A message's type as "<package>.<Name>" (e.g. "p2p.PexRequest"), from the channel's
 * messageType(); channels without one are counted as "channel_0x<id>".
 */
export function messageTypeOf<T> (ch: Channel<T>, message: T): string {
  if (ch.messageType === undefined) return `channel_${'0x' + ch.id.toString(16)}`
  try { return ch.messageType(message) } catch { return 'unknown' }
}
