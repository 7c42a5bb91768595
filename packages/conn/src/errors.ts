import { SwitchyardError } from '@switchyard/wire'

/** The peer sent a packet on a channel id we have not registered. */
export class UnknownChannelError extends SwitchyardError {
  readonly channelId: number
  constructor (channelId: number) {
    super('ERR_UNKNOWN_CHANNEL', `peer sent a packet on unknown channel ${channelId}`)
    this.channelId = channelId
  }
}

/** A message being reassembled grew past its channel's recvMessageCapacity. */
export class ChannelMessageTooLargeError extends SwitchyardError {
  readonly channelId: number
  constructor (channelId: number, size: number, limit: number) {
    super('ERR_CHANNEL_MESSAGE_TOO_LARGE', `message on channel ${channelId} reached ${size} bytes, over its recvMessageCapacity of ${limit}`)
    this.channelId = channelId
  }
}

/** No pong arrived within pongTimeout of our ping. */
export class PongTimeoutError extends SwitchyardError {
  constructor (timeoutMs: number) {
    super('ERR_PONG_TIMEOUT', `no pong within ${timeoutMs} ms of our ping`)
  }
}

/** The remote end closed the stream. */
export class ConnectionClosedError extends SwitchyardError {
  constructor (message = 'the peer closed the connection') {
    super('ERR_CONNECTION_CLOSED', message)
  }
}

/**
 * The reason reported when a peer ends the connection normally (EOF or close). One shared, frozen
 * instance without a stack: the normal end of every connection would otherwise build an Error and
 * capture a stack trace nobody reads (it showed in the listener's handshake-rate profile).
 */
export const PEER_CLOSED: ConnectionClosedError = (() => {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return Object.freeze(new ConnectionClosedError())
  } finally {
    Error.stackTraceLimit = limit
  }
})()

/** The underlying stream failed (reset, write after end, …); the cause holds the system error. */
export class StreamError extends SwitchyardError {
  constructor (cause: unknown) {
    super('ERR_STREAM', `connection stream failed: ${(cause as Error)?.message ?? String(cause)}`, { cause })
  }
}

/** Unfinished messages across a connection's channels would hold more bytes than its budget. */
export class ReassemblyBudgetError extends SwitchyardError {
  readonly channelId: number
  constructor (channelId: number, size: number, limit: number) {
    super('ERR_REASSEMBLY_BUDGET', `unfinished messages would hold ${size} bytes (channel ${channelId} growing), over the connection's maxReassemblyBytes of ${limit}`)
    this.channelId = channelId
  }
}

export const connErrorCodes = [
  'ERR_UNKNOWN_CHANNEL', 'ERR_CHANNEL_MESSAGE_TOO_LARGE', 'ERR_REASSEMBLY_BUDGET', 'ERR_PONG_TIMEOUT', 'ERR_CONNECTION_CLOSED', 'ERR_STREAM'
] as const

/** The handshake did not finish within its time limit. `stage` says where it stopped. */
export class HandshakeTimeoutError extends SwitchyardError {
  readonly stage: string
  constructor (timeoutMs: number, stage: string) {
    super('ERR_HANDSHAKE_TIMEOUT', `handshake timed out after ${timeoutMs} ms during ${stage}`)
    this.stage = stage
  }
}

/** The caller's AbortSignal fired. Named AbortError, as DOM and Node code expect. */
export class AbortError extends SwitchyardError {
  constructor (message = 'the operation was aborted', options?: { cause?: unknown }) {
    super('ERR_ABORTED', message, options)
    this.name = 'AbortError'
  }
}

/** Whether bytes a peer sent begin like an HTTP response. */
export function looksLikeHttp (bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, 5)).toString('latin1') === 'HTTP/'
}

/**
 * The peer's ephemeral key message was not a 32-byte X25519 public key. `received` holds the first
 * bytes it sent; when they are an HTTP response, `http` is true and the message says so (a port
 * such as CometBFT's RPC, 26657, rather than its p2p port, 26656).
 */
export class BadEphemeralKeyError extends SwitchyardError {
  readonly received: Uint8Array
  readonly http: boolean
  constructor (message: string, options?: { cause?: unknown, received?: Uint8Array }) {
    const received = options?.received ?? new Uint8Array(0)
    const http = looksLikeHttp(received)
    const said = http ? `; it answered in HTTP (${JSON.stringify(Buffer.from(received).toString('latin1').split('\r\n')[0])}): this is an HTTP port such as CometBFT's RPC (26657), not a p2p port (26656)` : ''
    super('ERR_BAD_EPHEMERAL_KEY', message + said, options)
    this.received = received
    this.http = http
  }
}

/** The X25519 shared secret was all zero: the peer sent a low-order point. */
export class LowOrderKeyError extends SwitchyardError {
  constructor () {
    super('ERR_LOW_ORDER_KEY', 'the peer sent a low-order ephemeral key (all-zero shared secret)')
  }
}

/** The peer authenticated with a key type other than ed25519. */
export class UnsupportedKeyTypeError extends SwitchyardError {
  readonly keyType: string
  constructor (keyType: string) {
    super('ERR_UNSUPPORTED_KEY_TYPE', `the peer's identity key is ${keyType}; only ed25519 is accepted`)
    this.keyType = keyType
  }
}

/** The peer's signature over the handshake challenge did not verify. */
export class BadSignatureError extends SwitchyardError {
  constructor (message = "the peer's signature over the handshake challenge does not verify") {
    super('ERR_BAD_SIGNATURE', message)
  }
}

/** A SecretConnection frame failed authentication (tampered, replayed or out of order). */
export class FrameAuthError extends SwitchyardError {
  constructor (nonce: bigint) {
    super('ERR_FRAME_AUTH', `SecretConnection frame ${nonce} failed authentication`)
  }
}

/** A SecretConnection frame declared more than 1024 data bytes. */
export class FrameTooLongError extends SwitchyardError {
  constructor (length: number) {
    super('ERR_FRAME_TOO_LONG', `SecretConnection frame declares ${length} data bytes, more than 1024`)
  }
}

/** 2^64 frames were sent or received with one key: the connection must end. */
export class NonceOverflowError extends SwitchyardError {
  constructor () {
    super('ERR_NONCE_OVERFLOW', 'SecretConnection nonce counter exhausted')
  }
}

export const handshakeErrorCodes = [
  'ERR_HANDSHAKE_TIMEOUT', 'ERR_ABORTED', 'ERR_BAD_EPHEMERAL_KEY', 'ERR_LOW_ORDER_KEY', 'ERR_UNSUPPORTED_KEY_TYPE',
  'ERR_BAD_SIGNATURE', 'ERR_FRAME_AUTH', 'ERR_FRAME_TOO_LONG', 'ERR_NONCE_OVERFLOW'
] as const
