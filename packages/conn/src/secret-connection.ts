/**
 * SecretConnection: CometBFT's authenticated encryption over a byte stream (docs/protocol.md §2).
 *
 * After the handshake every write is cut into 1028-byte plaintext frames (LE32 length, ≤ 1024 data
 * bytes, zero padding), each sealed with ChaCha20-Poly1305 under a 96-bit nonce holding a
 * little-endian 64-bit counter. Writes that queue up while the socket is busy are packed together,
 * so frames stay full under load.
 */
import { Duplex } from 'node:stream'
import createDebug from 'debug'
import { SwitchyardError } from '@switchyard/wire'
import { createAead, TAG_SIZE, type AeadName, type FrameAead } from './aead.js'
import { FrameAuthError, FrameTooLongError, NonceOverflowError, StreamError } from './errors.js'

const log = createDebug('switchyard:conn:secret')

export const DATA_MAX_SIZE = 1024
export const DATA_LEN_SIZE = 4
export const FRAME_SIZE = DATA_MAX_SIZE + DATA_LEN_SIZE // 1028
export const SEALED_FRAME_SIZE = FRAME_SIZE + TAG_SIZE // 1044

/** A 96-bit nonce: four zero bytes, then a little-endian 64-bit counter that must never wrap. */
export class FrameNonce {
  readonly bytes = new Uint8Array(12)
  private readonly view = new DataView(this.bytes.buffer)
  private lo = 0
  private hi = 0

  constructor (start = 0n) {
    this.lo = Number(start & 0xffffffffn)
    this.hi = Number((start >> 32n) & 0xffffffffn)
    this.write()
  }

  get value (): bigint {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo)
  }

  /** Moves to the next counter value; throws NonceOverflowError instead of wrapping. */
  increment (): void {
    if (this.lo === 0xffffffff) {
      if (this.hi === 0xffffffff) throw new NonceOverflowError()
      this.lo = 0
      this.hi++
    } else {
      this.lo++
    }
    this.write()
  }

  private write (): void {
    this.view.setUint32(4, this.lo, true)
    this.view.setUint32(8, this.hi, true)
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

export class SecretConnection extends Duplex {
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

  constructor (socket: Duplex, options: SecretConnectionOptions) {
    // Large enough for a full MConnection batch, so one batch is one socket write.
    super({ writableHighWaterMark: 128 * 1024, readableHighWaterMark: 128 * 1024 })
    this.socket = socket
    this.sealer = createAead(options.sendKey, options.aead)
    this.opener = createAead(options.recvKey, options.aead)
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
   * Lays each frame out in place in the output buffer (length, data, zero padding) and seals it
   * there: one copy of the data, no per-frame Buffer objects (plain Uint8Array views are cheap).
   */
  private sealAndSend (data: Buffer, cb: (err?: Error | null) => void): void {
    const len = data.length
    if (len === 0) { cb(); return }
    const frames = Math.ceil(len / DATA_MAX_SIZE)
    const out = Buffer.allocUnsafe(frames * SEALED_FRAME_SIZE)
    const ab = out.buffer
    const base = out.byteOffset
    const src = new Uint8Array(data.buffer, data.byteOffset, len)
    try {
      for (let i = 0, off = 0; i < frames; i++, off += DATA_MAX_SIZE) {
        const n = Math.min(DATA_MAX_SIZE, len - off)
        const at = i * SEALED_FRAME_SIZE
        out.writeUInt32LE(n, at)
        out.set(src.subarray(off, off + n), at + DATA_LEN_SIZE)
        if (n < DATA_MAX_SIZE) out.fill(0, at + DATA_LEN_SIZE + n, at + FRAME_SIZE)
        this.sealer.seal(new Uint8Array(ab, base + at, SEALED_FRAME_SIZE), new Uint8Array(ab, base + at, FRAME_SIZE), this.sendNonce.bytes)
        this.sendNonce.increment()
      }
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
  }

  // ---- reading ----

  /**
   * Opens every complete frame in place in the socket's chunk (which we own) and gathers the data
   * of all of them into one buffer: one copy of the data per frame, no per-frame Buffer objects.
   */
  private readonly onData = (chunk: Buffer): void => {
    let pos = 0
    const total = this.partialLen + chunk.length
    const frames = Math.floor(total / SEALED_FRAME_SIZE)
    if (frames === 0) {
      chunk.copy(this.partial, this.partialLen)
      this.partialLen += chunk.length
      return
    }
    const out = Buffer.allocUnsafe(frames * DATA_MAX_SIZE)
    let cursor = 0
    for (let i = 0; i < frames; i++) {
      let frame: Buffer
      let at: number
      if (this.partialLen > 0) {
        const need = SEALED_FRAME_SIZE - this.partialLen
        chunk.copy(this.partial, this.partialLen, 0, need)
        pos = need
        this.partialLen = 0
        frame = this.partial
        at = 0
      } else {
        frame = chunk
        at = pos
        pos += SEALED_FRAME_SIZE
      }
      const ab = frame.buffer
      const base = frame.byteOffset + at
      if (!this.opener.open(new Uint8Array(ab, base, FRAME_SIZE), new Uint8Array(ab, base, SEALED_FRAME_SIZE), this.recvNonce.bytes)) {
        this.fail(new FrameAuthError(this.recvNonce.value))
        return
      }
      try {
        this.recvNonce.increment()
      } catch (err) {
        this.fail(err as SwitchyardError)
        return
      }
      const n = frame.readUInt32LE(at)
      if (n > DATA_MAX_SIZE) {
        this.fail(new FrameTooLongError(n))
        return
      }
      out.set(new Uint8Array(ab, base + DATA_LEN_SIZE, n), cursor)
      cursor += n
    }
    const rest = chunk.length - pos
    if (rest > 0) {
      chunk.copy(this.partial, 0, pos)
      this.partialLen = rest
    }
    if (cursor > 0 && !this.push(out.subarray(0, cursor))) this.socket.pause()
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
