import { SwitchyardError } from '@switchyard/wire'

/** A WebSocket message over the size bound (ours when received; the peer's when it closed with 1009). */
export class WsMessageTooLargeError extends SwitchyardError {
  readonly limit: number | undefined
  constructor (detail: string, limit?: number) {
    super('ERR_WS_MESSAGE_TOO_LARGE', limit !== undefined ? `${detail} (limit ${limit} bytes)` : detail)
    this.limit = limit
  }
}

/** The peer broke the transport's rules: a text message, or a malformed WebSocket frame. */
export class WsProtocolError extends SwitchyardError {
  constructor (problem: string, options?: { cause?: unknown }) {
    super('ERR_WS_PROTOCOL', `WebSocket protocol violation: ${problem}`, options)
  }
}

/** The WebSocket closed abnormally (any close code other than a normal closure). */
export class WsClosedError extends SwitchyardError {
  readonly closeCode: number
  constructor (closeCode: number, reason: string) {
    super('ERR_WS_CLOSED', `WebSocket closed with code ${closeCode}${reason !== '' ? ` (${reason})` : ''}`)
    this.closeCode = closeCode
  }
}

/** Received data piled up beyond the bound on a WebSocket that cannot pause (a browser's). */
export class WsReceiveOverflowError extends SwitchyardError {
  constructor (buffered: number, limit: number) {
    super('ERR_WS_RECEIVE_OVERFLOW', `${buffered} received bytes wait for the reader, over the bound of ${limit}`)
  }
}

/** The server answered the upgrade request with an HTTP status instead of switching protocols. */
export class WsUpgradeRefusedError extends SwitchyardError {
  readonly status: number
  constructor (address: string, status: number) {
    super('ERR_WS_UPGRADE_REFUSED', `${address} refused the WebSocket upgrade with HTTP ${status}`)
    this.status = status
  }
}

export const wsErrorCodes = [
  'ERR_WS_MESSAGE_TOO_LARGE', 'ERR_WS_PROTOCOL', 'ERR_WS_CLOSED', 'ERR_WS_RECEIVE_OVERFLOW', 'ERR_WS_UPGRADE_REFUSED'
] as const
