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

/** The underlying stream failed (reset, write after end, …); the cause holds the system error. */
export class StreamError extends SwitchyardError {
  constructor (cause: unknown) {
    super('ERR_STREAM', `connection stream failed: ${(cause as Error)?.message ?? String(cause)}`, { cause })
  }
}

export const connErrorCodes = [
  'ERR_UNKNOWN_CHANNEL', 'ERR_CHANNEL_MESSAGE_TOO_LARGE', 'ERR_PONG_TIMEOUT', 'ERR_CONNECTION_CLOSED', 'ERR_STREAM'
] as const
