/**
 * The byte stream carried by a WebSocket's binary messages, as a Duplex for SecretConnection.
 * Message boundaries mean nothing: writes are cut into messages of at most `sendMessageSize`
 * bytes, received messages are pushed in order. Written against the WHATWG WebSocket interface
 * (addEventListener, send, bufferedAmount, close), so the same module runs over the `ws` package
 * in Node and over a browser's WebSocket; the optional hooks add what only `ws` has.
 */
import { Duplex } from 'node:stream'
import createDebug from 'debug'
import { SwitchyardError } from '@switchyard/wire'
import { WsClosedError, WsMessageTooLargeError, WsProtocolError, WsReceiveOverflowError } from './errors.js'

const log = createDebug('switchyard:transport-ws:stream')

/** The part of the WebSocket interface we use (browser WebSocket and `ws` both have it). */
export interface WebSocketLike {
  binaryType: string
  readonly bufferedAmount: number
  readonly readyState: number
  send: (data: Uint8Array) => void
  close: (code?: number, reason?: string) => void
  addEventListener: (type: 'message' | 'close' | 'error', listener: (event: any) => void) => void
  removeEventListener: (type: 'message' | 'close' | 'error', listener: (event: any) => void) => void
}

export interface MessageStreamOptions {
  /** Largest message accepted; a bigger one destroys the stream with WsMessageTooLargeError. */
  maxMessageSize: number
  /** Largest message we send (must not exceed the peer's maxMessageSize). */
  sendMessageSize: number
  /** Writes wait once the WebSocket holds this many unsent bytes (back-pressure). */
  maxBufferedAmount: number
  /** Received bytes allowed to wait for the reader when the socket cannot pause (browsers). */
  maxReceiveBuffer?: number
  /** `ws` only: send with a completion callback, so waiting writers wake as soon as bytes leave. */
  sendWithCallback?: (data: Uint8Array, done: () => void) => void
  /** `ws` only: stop and restart reading from the socket. */
  pause?: () => void
  resume?: () => void
  /** `ws` only: drop the connection at once instead of a closing handshake. */
  terminate?: () => void
  /** How often a writer polls bufferedAmount when there is no send callback (ms). */
  pollInterval?: number
}

const OPEN = 1
const NORMAL_CLOSURES = new Set([1000, 1001, 1005])

export class MessageStream extends Duplex {
  private readonly ws: WebSocketLike
  private readonly opts: Required<Pick<MessageStreamOptions, 'maxMessageSize' | 'sendMessageSize' | 'maxBufferedAmount' | 'maxReceiveBuffer' | 'pollInterval'>> & MessageStreamOptions
  private writeWaiter: (() => void) | undefined
  private pollTimer: ReturnType<typeof setTimeout> | undefined
  private pausedSocket = false

  constructor (ws: WebSocketLike, options: MessageStreamOptions) {
    super({ readableHighWaterMark: 128 * 1024, writableHighWaterMark: 128 * 1024 })
    for (const k of ['maxMessageSize', 'sendMessageSize', 'maxBufferedAmount'] as const) {
      if (!(Number.isInteger(options[k]) && options[k] > 0)) throw new RangeError(`MessageStream option ${k} must be an integer > 0, got ${String(options[k])}`)
    }
    this.opts = { maxReceiveBuffer: 4 * 1024 * 1024, pollInterval: 2, ...options }
    this.ws = ws
    // `ws` hands out Buffers already; a browser would give Blobs unless told otherwise.
    if (ws.binaryType !== 'nodebuffer') ws.binaryType = 'arraybuffer'
    ws.addEventListener('message', this.onMessage)
    ws.addEventListener('close', this.onClose)
    ws.addEventListener('error', this.onError)
  }

  // ---- receiving ----

  private readonly onMessage = (event: { data: unknown }): void => {
    const data = event.data
    if (typeof data === 'string') { this.destroy(new WsProtocolError('a text message (only binary messages carry the stream)')); return }
    const chunk = Buffer.isBuffer(data) ? data : data instanceof ArrayBuffer ? Buffer.from(data) : undefined
    if (chunk === undefined) { this.destroy(new WsProtocolError('a message that is not binary data')); return }
    if (chunk.length > this.opts.maxMessageSize) {
      this.destroy(new WsMessageTooLargeError(`received a ${chunk.length}-byte WebSocket message`, this.opts.maxMessageSize))
      return
    }
    if (chunk.length === 0) return
    if (this.push(chunk)) return
    if (this.opts.pause !== undefined) {
      this.opts.pause()
      this.pausedSocket = true
    } else if (this.readableLength > this.opts.maxReceiveBuffer) {
      this.destroy(new WsReceiveOverflowError(this.readableLength, this.opts.maxReceiveBuffer))
    }
  }

  override _read (): void {
    if (this.pausedSocket) {
      this.pausedSocket = false
      this.opts.resume?.()
    }
  }

  private readonly onClose = (event: { code: number, reason?: unknown }): void => {
    const reason = String(event.reason ?? '')
    if (NORMAL_CLOSURES.has(event.code)) {
      this.push(null)
      // The peer can no longer read either (a WebSocket has no half-close), but what it sent
      // before closing is still delivered: end the readable side first, then let go.
      if (this.readableLength === 0) this.destroy()
      else this.once('end', () => { this.destroy() })
    } else if (event.code === 1009) {
      this.destroy(new WsMessageTooLargeError(`the peer closed the WebSocket because our message was too big${reason !== '' ? ` (${reason})` : ''}`))
    } else {
      this.destroy(new WsClosedError(event.code, reason))
    }
  }

  private readonly onError = (event: { error?: unknown, message?: string }): void => {
    const err = event.error as (Error & { code?: string }) | undefined
    if (err?.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      this.destroy(new WsMessageTooLargeError(`the peer sent a WebSocket message over the bound: ${err.message}`, this.opts.maxMessageSize))
    } else if (err?.code?.startsWith('WS_ERR_') === true) {
      this.destroy(new WsProtocolError(err.message, { cause: err }))
    } else {
      this.destroy(err instanceof SwitchyardError ? err : new WsClosedError(1006, err?.message ?? event.message ?? 'connection error'))
    }
  }

  // ---- sending ----

  override _write (chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.sendAll(chunk, cb)
  }

  override _writev (chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    this.sendAll(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map(c => c.chunk)), cb)
  }

  /**
   * Sends `data` as messages; whenever the WebSocket holds more than maxBufferedAmount, the rest
   * waits until it drained to half of that. The write callback runs once everything is handed over,
   * so a batch of queued writes (one _writev) never floods the socket either.
   */
  private sendAll (data: Buffer, cb: (err?: Error | null) => void, from = 0): void {
    if (this.ws.readyState !== OPEN) { cb(new WsClosedError(1006, 'write after the WebSocket closed')); return }
    const max = this.opts.sendMessageSize
    let off = from
    try {
      while (off < data.length) {
        const piece = data.subarray(off, Math.min(off + max, data.length))
        off += piece.length
        if (this.opts.sendWithCallback !== undefined) this.opts.sendWithCallback(piece, this.onSent)
        else this.ws.send(piece)
        if (off < data.length && this.ws.bufferedAmount > this.opts.maxBufferedAmount) break
      }
    } catch (err) {
      cb(err as Error)
      return
    }
    if (this.ws.bufferedAmount <= this.opts.maxBufferedAmount) {
      if (off < data.length) this.sendAll(data, cb, off)
      else cb()
      return
    }
    // Back-pressure: wait until the WebSocket has sent most of what it holds.
    this.writeWaiter = off < data.length ? () => { this.sendAll(data, cb, off) } : () => { cb() }
    if (this.opts.sendWithCallback === undefined) this.poll()
  }

  private readonly onSent = (): void => {
    if (this.writeWaiter !== undefined && this.ws.bufferedAmount <= this.opts.maxBufferedAmount / 2) this.wakeWriter()
  }

  private poll (): void {
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined
      if (this.writeWaiter === undefined) return
      if (this.ws.bufferedAmount <= this.opts.maxBufferedAmount / 2) this.wakeWriter()
      else this.poll()
    }, this.opts.pollInterval)
  }

  private wakeWriter (): void {
    const w = this.writeWaiter
    this.writeWaiter = undefined
    w?.()
  }

  override _final (cb: (err?: Error | null) => void): void {
    if (this.ws.readyState === OPEN) this.ws.close(1000)
    cb()
  }

  override _destroy (err: Error | null, cb: (err?: Error | null) => void): void {
    clearTimeout(this.pollTimer)
    this.ws.removeEventListener('message', this.onMessage)
    this.ws.removeEventListener('close', this.onClose)
    this.ws.removeEventListener('error', this.onError)
    if (err !== null) log('closing: %s', err.message)
    if (this.ws.readyState <= OPEN) {
      if (err !== null && this.opts.terminate !== undefined) this.opts.terminate()
      else if (err instanceof WsMessageTooLargeError) this.ws.close(1009)
      else this.ws.close(err === null ? 1000 : 1011)
    }
    // A write held by back-pressure ends with the stream (sendAll sees the closed socket).
    const w = this.writeWaiter
    this.writeWaiter = undefined
    w?.()
    cb(err)
  }
}
