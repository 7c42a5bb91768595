/**
 * Reads whole length-delimited messages from a stream during a handshake, then hands the stream
 * (and any bytes that arrived after the last message) back to whoever comes next.
 *
 * It reads in paused mode ('readable' + read()) rather than with 'data' events, so that after
 * release() the next owner can simply attach a 'data' listener and receive the bytes put back.
 */
import type { Duplex } from 'node:stream'
import { LengthDelimitedDecoder, SwitchyardError } from '@switchyard/wire'
import { ConnectionClosedError, StreamError } from './errors.js'

/** Bytes held beyond the message being read before we stop reading (the peer is ahead of us). */
const MAX_AHEAD = 64 * 1024
/** How many of the first bytes are kept for diagnosis (an HTTP status line fits). */
const FIRST_BYTES = 64

export class DelimitedReader {
  private readonly stream: Duplex
  private buffered: Buffer = Buffer.alloc(0)
  private failure: SwitchyardError | undefined
  private wake: (() => void) | undefined
  private released = false
  private first: Buffer = Buffer.alloc(0)

  constructor (stream: Duplex) {
    this.stream = stream
    stream.on('readable', this.onReadable)
    stream.on('end', this.onEnd)
    stream.on('close', this.onEnd)
    stream.on('error', this.onError)
  }

  /** The next message body; rejects on a malformed or oversized message, or when the stream ends. */
  async read (maxSize: number, what: string): Promise<Uint8Array> {
    for (;;) {
      if (this.released) throw new Error('DelimitedReader used after release()')
      let body: Uint8Array | undefined
      const decoder = new LengthDelimitedDecoder(maxSize, what)
      const used = decoder.push(this.buffered, b => { body = b; return false })
      if (body !== undefined) {
        const copy = Uint8Array.from(body)
        this.buffered = this.buffered.subarray(used)
        this.onReadable()
        return copy
      }
      if (this.failure !== undefined) throw this.failure
      await new Promise<void>(resolve => { this.wake = resolve })
    }
  }

  /** The first bytes this reader pulled from the stream (up to 64): what a wrong kind of server said. */
  get firstBytes (): Uint8Array {
    return this.first
  }

  /** Stops listening; unread bytes are put back at the front of the stream for its next reader. */
  release (): void {
    if (this.released) return
    this.released = true
    this.stream.off('readable', this.onReadable)
    this.stream.off('end', this.onEnd)
    this.stream.off('close', this.onEnd)
    this.stream.off('error', this.onError)
    if (this.buffered.length > 0 && !this.stream.destroyed) this.stream.unshift(this.buffered)
    this.buffered = Buffer.alloc(0)
  }

  /** Pulls what the stream holds, up to MAX_AHEAD; beyond that the stream's own buffer fills and it stops reading. */
  private readonly onReadable = (): void => {
    let chunk: Buffer | null
    while (this.buffered.length < MAX_AHEAD && (chunk = this.stream.read() as Buffer | null) !== null) {
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk])
      if (this.first.length < FIRST_BYTES) this.first = Buffer.concat([this.first, chunk.subarray(0, FIRST_BYTES - this.first.length)])
    }
    this.wakeUp()
  }

  private readonly onEnd = (): void => {
    this.failure ??= new ConnectionClosedError('the peer closed the connection during the handshake')
    this.wakeUp()
  }

  private readonly onError = (err: Error): void => {
    this.failure ??= err instanceof SwitchyardError ? err : new StreamError(err)
    this.wakeUp()
  }

  private wakeUp (): void {
    const w = this.wake
    this.wake = undefined
    w?.()
  }
}
