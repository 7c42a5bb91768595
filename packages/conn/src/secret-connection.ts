/**
 * SecretConnection: CometBFT's authenticated encryption over a byte stream (docs/protocol.md §2).
 *
 * After the handshake every write is cut into 1028-byte plaintext frames (LE32 length, ≤ 1024 data
 * bytes, zero padding), each sealed with ChaCha20-Poly1305 under a 96-bit nonce holding a
 * little-endian 64-bit counter. Writes that queue up while the socket is busy are packed together,
 * so frames stay full under load.
 */
import net from 'node:net'
import { Duplex } from 'node:stream'
import createDebug from 'debug'
import { SwitchyardError } from '@switchyard/wire'
import { createAead, type AeadName, type FrameAead } from './aead.js'
import { FrameAuthError, FrameTooLongError, NonceOverflowError, StreamError } from './errors.js'
import { DATA_LEN_SIZE, DATA_MAX_SIZE, FRAME_SIZE, SEALED_FRAME_SIZE, copyFramed, finishFrames, framedSize, type FramedWriter } from './frame-layout.js'

const log = createDebug('switchyard:conn:secret')

export { DATA_LEN_SIZE, DATA_MAX_SIZE, FRAME_SIZE, SEALED_FRAME_SIZE }

/**
 * Batch buffers kept for reuse: sized for MConnection's default batch (64 KiB of data plus a
 * packet and framing), at most SPARE_BUFFERS per connection. Smaller batches come from Node's
 * own pool. Reusing them took the garbage collector's share of a bulk sender's profile.
 */
const POOLED_BYTES = framedSize(72 * 1024)
const POOLED_MIN_BYTES = 8 * 1024
const SPARE_BUFFERS = 4

/** A 96-bit nonce: four zero bytes, then a little-endian 64-bit counter that must never wrap. */
export class FrameNonce {
  readonly bytes = new Uint8Array(12)
  private readonly view = new DataView(this.bytes.buffer)
  private low = 0
  private high = 0

  constructor (start = 0n) {
    this.low = Number(start & 0xffffffffn)
    this.high = Number((start >> 32n) & 0xffffffffn)
    this.write()
  }

  /** The counter's low and high 32 bits (what the batch AEAD calls take). */
  get lo (): number { return this.low }
  get hi (): number { return this.high }

  get value (): bigint {
    return (BigInt(this.high) << 32n) | BigInt(this.low)
  }

  /** Moves to the next counter value; throws NonceOverflowError instead of wrapping. */
  increment (): void {
    if (this.low === 0xffffffff) {
      if (this.high === 0xffffffff) throw new NonceOverflowError()
      this.low = 0
      this.high++
    } else {
      this.low++
    }
    this.write()
  }

  /**
   * Frames that may still use a nonce before the counter would wrap, capped at 2^32. A batch of
   * `usable` or more frames would reach the last value, after which nothing may be sent.
   */
  get usable (): number {
    return this.high === 0xffffffff ? 0x100000000 - this.low : 0x100000000
  }

  /** Moves `n` values on (callers check `usable` first). */
  advance (n: number): void {
    const sum = this.low + n
    this.low = sum >>> 0
    this.high += Math.floor(sum / 0x100000000)
    this.write()
  }

  private write (): void {
    this.view.setUint32(4, this.low, true)
    this.view.setUint32(8, this.high, true)
  }
}

export interface SecretConnectionOptions {
  sendKey: Uint8Array
  recvKey: Uint8Array
  aead?: AeadName
  /** For tests: where the nonce counters start (overflow handling). */
  sendNonce?: bigint
  recvNonce?: bigint
}

export class SecretConnection extends Duplex implements FramedWriter {
  readonly aead: AeadName
  /** The peer's authenticated ed25519 public key, set once the handshake verified it. */
  remotePublicKey: Uint8Array | undefined
  private readonly socket: Duplex
  private readonly sealer: FrameAead
  private readonly opener: FrameAead
  private readonly sendNonce: FrameNonce
  private readonly recvNonce: FrameNonce
  private readonly partial = Buffer.allocUnsafe(SEALED_FRAME_SIZE)
  private partialLen = 0
  private pendingCallback: ((err?: Error | null) => void) | undefined
  /** A writeFramed() call found the socket full; its writer waits for our 'drain'. */
  private framedBlocked = false
  /** Batch buffers the socket has finished writing. Only for a net.Socket, whose write callback
   * means the kernel has the bytes; another Duplex may still hold the chunk after calling back. */
  private readonly spare: Buffer[] | undefined

  constructor (socket: Duplex, options: SecretConnectionOptions) {
    // Large enough for a full MConnection batch, so one batch is one socket write.
    super({ writableHighWaterMark: 128 * 1024, readableHighWaterMark: 128 * 1024 })
    this.socket = socket
    this.spare = socket instanceof net.Socket ? [] : undefined
    this.sealer = createAead(options.sendKey, options.aead, true)
    this.opener = createAead(options.recvKey, options.aead, false)
    this.aead = this.sealer.name
    this.sendNonce = new FrameNonce(options.sendNonce)
    this.recvNonce = new FrameNonce(options.recvNonce)
    socket.on('data', this.onData)
    socket.on('end', this.onEnd)
    socket.on('error', this.onSocketError)
    socket.on('close', this.onSocketClose)
    socket.on('drain', this.onDrain)
    socket.resume()
  }

  /** Frames sent and received so far (the next nonce counters). */
  get counters (): { sent: bigint, received: bigint } {
    return { sent: this.sendNonce.value, received: this.recvNonce.value }
  }

  // ---- writing ----

  override _write (chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.sealAndSend(chunk, cb)
  }

  override _writev (chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    this.sealAndSend(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map(c => c.chunk)), cb)
  }

  override _final (cb: (err?: Error | null) => void): void {
    this.socket.end(cb)
  }

  override _read (): void {
    if (this.socket.isPaused()) this.socket.resume()
  }

  override _destroy (err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.off('data', this.onData)
    this.socket.off('drain', this.onDrain)
    this.socket.destroy()
    const pending = this.pendingCallback
    this.pendingCallback = undefined
    pending?.(err)
    cb(err)
  }

  /**
   * Seals and sends bytes another writer already laid out as frames (see frame-layout.ts): no copy.
   * Anything still queued through write() goes first, so the order (and the nonces) stay right.
   */
  framedBuffer (dataBytes: number): Buffer {
    const size = framedSize(dataBytes)
    if (this.spare === undefined || size > POOLED_BYTES || size < POOLED_MIN_BYTES) return Buffer.allocUnsafe(size)
    return this.spare.pop() ?? Buffer.allocUnsafe(POOLED_BYTES)
  }

  writeFramed (buf: Uint8Array, dataBytes: number): boolean {
    if (dataBytes === 0) { this.recycle(buf); return true }
    if (this.writableLength > 0 || this.pendingCallback !== undefined || this.destroyed || this.writableEnded) {
      const data = Buffer.allocUnsafe(dataBytes)
      for (let p = 0; p < dataBytes; p += DATA_MAX_SIZE) {
        const at = (p / DATA_MAX_SIZE) * SEALED_FRAME_SIZE + DATA_LEN_SIZE
        data.set(buf.subarray(at, at + Math.min(DATA_MAX_SIZE, dataBytes - p)), p)
      }
      this.recycle(buf)
      return this.write(data)
    }
    const frames = finishFrames(buf, dataBytes)
    try {
      this.seal(buf, frames)
    } catch (err) {
      this.destroy(err instanceof SwitchyardError ? err : new StreamError(err))
      return false
    }
    const chunk = frames * SEALED_FRAME_SIZE === buf.length ? buf : buf.subarray(0, frames * SEALED_FRAME_SIZE)
    const pooled = this.spare !== undefined && buf.length === POOLED_BYTES
    let ok: boolean
    if (pooled) {
      let recycled = false
      const recycle = (): void => { if (!recycled) { recycled = true; this.recycle(buf) } }
      ok = this.socket.write(chunk, recycle)
      // Nothing left queued in the socket: the kernel took every byte, so the buffer is free now
      // (its callback only comes on a later tick, after the next batches would have allocated).
      if (this.socket.writableLength === 0) recycle()
    } else {
      ok = this.socket.write(chunk)
    }
    if (ok) return true
    this.framedBlocked = true
    return false
  }

  /** Takes back a batch buffer from framedBuffer() that nothing holds any more. */
  private recycle (buf: Uint8Array): void {
    if (this.spare !== undefined && buf.length === POOLED_BYTES && this.spare.length < SPARE_BUFFERS && Buffer.isBuffer(buf)) this.spare.push(buf)
  }

  /** Seals `frames` laid-out frames of `buf` in one call; throws NonceOverflowError before wrapping. */
  private seal (buf: Uint8Array, frames: number): void {
    const nonce = this.sendNonce
    if (frames >= nonce.usable) throw new NonceOverflowError()
    this.sealer.sealFrames(buf, frames, nonce.lo, nonce.hi)
    nonce.advance(frames)
  }

  /** Lays the bytes of a write() out as frames (one copy) and seals them all in one call. */
  private sealAndSend (data: Buffer, cb: (err?: Error | null) => void): void {
    const len = data.length
    if (len === 0) { cb(); return }
    const out = Buffer.allocUnsafe(framedSize(len))
    copyFramed(out, 0, data, 0, len)
    try {
      this.seal(out, finishFrames(out, len))
    } catch (err) {
      cb(err instanceof SwitchyardError ? err : new StreamError(err))
      return
    }
    if (this.socket.write(out)) cb()
    else this.pendingCallback = cb
  }

  private readonly onDrain = (): void => {
    const cb = this.pendingCallback
    this.pendingCallback = undefined
    cb?.()
    if (this.framedBlocked) {
      this.framedBlocked = false
      this.emit('drain')
    }
  }

  // ---- reading ----

  /**
   * Opens all whole frames of the socket's chunk (which we own) in one call, in place; the opener
   * moves their data to the front of the chunk and we push a view of it: no copy beyond that move,
   * no per-frame objects. A frame split across chunks is completed in `partial` first.
   */
  private readonly onData = (chunk: Buffer): void => {
    let pos = 0
    let head: Buffer | undefined
    if (this.partialLen > 0) {
      const need = SEALED_FRAME_SIZE - this.partialLen
      if (chunk.length < need) {
        chunk.copy(this.partial, this.partialLen)
        this.partialLen += chunk.length
        return
      }
      chunk.copy(this.partial, this.partialLen, 0, need)
      pos = need
      this.partialLen = 0
      const n = this.open(this.partial, 1)
      if (n < 0) return
      // `partial` is reused: what we push from it must be a copy.
      if (n > 0) head = Buffer.from(this.partial.subarray(0, n))
    }
    const frames = Math.floor((chunk.length - pos) / SEALED_FRAME_SIZE)
    let body: Buffer | undefined
    if (frames > 0) {
      const region = chunk.subarray(pos, pos + frames * SEALED_FRAME_SIZE)
      const n = this.open(region, frames)
      if (n < 0) return
      if (n > 0) body = region.subarray(0, n)
      pos += frames * SEALED_FRAME_SIZE
    }
    const rest = chunk.length - pos
    if (rest > 0) {
      chunk.copy(this.partial, 0, pos)
      this.partialLen = rest
    }
    let more = true
    if (head !== undefined) more = this.push(head)
    if (body !== undefined) more = this.push(body)
    if (!more) this.socket.pause()
  }

  /** Opens `frames` frames of `buf`; the data byte count, or -1 after failing the connection. */
  private open (buf: Buffer, frames: number): number {
    const nonce = this.recvNonce
    if (frames >= nonce.usable) {
      this.fail(new NonceOverflowError())
      return -1
    }
    const r = this.opener.openFrames(buf, frames, nonce.lo, nonce.hi)
    if (r < 0) {
      const i = (-r - 1) >> 1
      if (((-r) & 1) === 1) this.fail(new FrameAuthError(nonce.value + BigInt(i)))
      else this.fail(new FrameTooLongError(buf.readUInt32LE(i * SEALED_FRAME_SIZE)))
      return -1
    }
    nonce.advance(frames)
    return r
  }

  private fail (err: SwitchyardError): void {
    log('closing: %s', err.message)
    this.destroy(err)
  }

  private readonly onEnd = (): void => {
    this.push(null)
  }

  private readonly onSocketError = (err: Error): void => {
    this.destroy(err instanceof SwitchyardError ? err : new StreamError(err))
  }

  private readonly onSocketClose = (): void => {
    if (!this.destroyed) this.destroy()
  }
}
