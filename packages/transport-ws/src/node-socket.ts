/** Wraps a connected `ws` WebSocket as a MessageStream, with the hooks only `ws` offers. */
import type { WebSocket } from 'ws'
import { MessageStream, type WebSocketLike } from './message-stream.js'

export interface StreamLimits {
  /** Largest WebSocket message accepted (default 1 MiB). */
  maxMessageSize?: number
  /** Largest WebSocket message sent (default 64 KiB; keep it at or below every peer's maxMessageSize). */
  sendMessageSize?: number
  /** Unsent bytes a WebSocket may hold before writers wait (default 1 MiB). */
  maxBufferedAmount?: number
}

export const DEFAULT_LIMITS: Required<StreamLimits> = {
  maxMessageSize: 1024 * 1024,
  sendMessageSize: 64 * 1024,
  maxBufferedAmount: 1024 * 1024
}

export function streamFromWs (ws: WebSocket, limits: Required<StreamLimits>): MessageStream {
  ws.binaryType = 'nodebuffer'
  return new MessageStream(ws as unknown as WebSocketLike, {
    ...limits,
    sendWithCallback: (data, done) => { ws.send(data, { binary: true }, done) },
    pause: () => { ws.pause() },
    resume: () => { ws.resume() },
    terminate: () => { ws.terminate() }
  })
}

export function resolveLimits (limits: StreamLimits): Required<StreamLimits> {
  const out = { ...DEFAULT_LIMITS }
  for (const k of Object.keys(DEFAULT_LIMITS) as Array<keyof StreamLimits>) {
    const v = limits[k]
    if (v === undefined) continue
    if (!(Number.isInteger(v) && v > 0)) throw new RangeError(`WebSocket option ${k} must be an integer > 0, got ${String(v)}`)
    out[k] = v
  }
  return out
}
