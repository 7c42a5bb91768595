/**
 * Typed channels: a reactor declares each channel once, with its MConnection tuning and how its
 * messages are encoded (a protobufjs message type, or any encode/decode pair).
 */
import type { ChannelDescriptor } from '@switchyard/conn'

export interface MessageCodec<T> {
  encode: (message: T) => Uint8Array
  /** Throws on bytes that are not a T; the sending peer is then disconnected. */
  decode: (bytes: Uint8Array) => T
}

/** The shape of a protobufjs reflection or static message type (no import of protobufjs needed). */
export interface ProtobufType<T> {
  encode: (message: T) => { finish: () => Uint8Array }
  decode: (bytes: Uint8Array) => T
}

/**
 * A declared channel. `Id` is the channel id as a literal type when it is known at compile time
 * (`channel({ id: 0x20, … })`, or `channel<Msg, 0x20>(…)`), so that a reactor's envelopes form a
 * discriminated union on `channelId`.
 */
export interface Channel<T = Uint8Array, Id extends number = number> extends Readonly<Required<ChannelDescriptor>> {
  readonly id: Id
  readonly codec: MessageCodec<T>
  /** The message's type as "<package>.<Name>" (e.g. "p2p.PexAddrs"), for per-type metrics. */
  readonly messageType?: (message: T) => string
}

export const rawCodec: MessageCodec<Uint8Array> = { encode: m => m, decode: b => b }

export function protobufCodec<T> (type: ProtobufType<T>): MessageCodec<T> {
  return { encode: m => type.encode(m).finish(), decode: b => type.decode(b) }
}

function isProtobufType<T> (x: unknown): x is ProtobufType<T> {
  return typeof x === 'object' && x !== null && 'encode' in x && 'decode' in x && typeof (x as { fromObject?: unknown }).fromObject === 'function'
}

export interface ChannelOptions<T, Id extends number = number> extends ChannelDescriptor {
  id: Id
  /** A protobufjs type, or a codec; omitted = raw bytes. */
  message?: ProtobufType<T> | MessageCodec<T>
  /** Names a message's type as "<package>.<Name>" for CometBFT's per-type byte metrics. */
  messageType?: (message: T) => string
}

/** Declares a channel. Defaults follow CometBFT: sendQueueCapacity 1, recvMessageCapacity 21 MiB. */
export function channel<T = Uint8Array, const Id extends number = number> (options: ChannelOptions<T, Id>): Channel<T, Id> {
  if (!Number.isInteger(options.id) || options.id < 0 || options.id > 255) throw new RangeError(`channel id must be an integer 0–255, got ${options.id}`)
  if (!(options.priority > 0)) throw new RangeError(`channel ${options.id}: priority must be > 0`)
  const m = options.message
  const codec = m === undefined
    ? rawCodec as unknown as MessageCodec<T>
    : isProtobufType<T>(m) ? protobufCodec(m) : m as MessageCodec<T>
  return Object.freeze({
    id: options.id,
    priority: options.priority,
    sendQueueCapacity: options.sendQueueCapacity ?? 1,
    recvBufferCapacity: options.recvBufferCapacity ?? 4096,
    recvMessageCapacity: options.recvMessageCapacity ?? 22020096,
    codec,
    ...(options.messageType !== undefined ? { messageType: options.messageType } : {})
  })
}
