import { MalformedMessageError, MessageTooLargeError } from './errors.js'
import { readUvarint, uvarintSize, writeUvarint, type UvarintResult } from './varint.js'

/** Prefixes `body` with its uvarint length (one allocation, one copy). */
export function encodeDelimited (body: Uint8Array): Uint8Array {
  const out = new Uint8Array(uvarintSize(body.length) + body.length)
  const at = writeUvarint(out, 0, body.length)
  out.set(body, at)
  return out
}

/**
 * Splits a byte stream into uvarint-length-delimited message bodies, whatever the chunk boundaries.
 *
 * Memory stays bounded: a length above `maxSize` throws before anything is allocated, at most one
 * partial message (≤ maxSize bytes) and ten header bytes are held between pushes. A body that lies
 * wholly inside one pushed chunk is handed out as a view of that chunk (no copy), valid only until
 * the callback returns; copy it to keep it.
 */
export class LengthDelimitedDecoder {
  readonly maxSize: number
  private readonly what: string
  private header = new Uint8Array(10)
  private headerLen = 0
  private body: Uint8Array | undefined
  private bodyFilled = 0
  private readonly varint: UvarintResult = { value: 0, next: 0 }
  private slab: ArrayBuffer | undefined
  private slabUsed = 0

  constructor (maxSize: number, what = 'message') {
    if (!Number.isSafeInteger(maxSize) || maxSize < 0) throw new RangeError(`maxSize must be a non-negative integer, got ${maxSize}`)
    this.maxSize = maxSize
    this.what = what
  }

  /** Bytes of a message started but not finished (0 when between messages). */
  get buffered (): number {
    return this.headerLen + this.bodyFilled
  }

  /**
   * Feeds bytes; calls `onMessage` for each complete body. Throws MessageTooLargeError or
   * MalformedMessageError on bad input; the decoder is then unusable (the stream is broken).
   * `onMessage` may return false to stop early: the number of bytes consumed is returned so the
   * caller can push the rest later.
   */
  push (chunk: Uint8Array, onMessage: (body: Uint8Array) => boolean | void): number {
    return this.pushSpans(chunk, (buf, start, end) => onMessage(start === 0 && end === buf.length ? buf : buf.subarray(start, end)))
  }

  /**
   * push() for hot paths: each complete body is `buf[start, end)` (the pushed chunk, or the
   * decoder's own buffer for a body split across chunks), so no view is created per message.
   */
  pushSpans (chunk: Uint8Array, onSpan: (buf: Uint8Array, start: number, end: number) => boolean | void): number {
    let pos = 0
    const end = chunk.length
    while (pos < end) {
      if (this.body !== undefined) {
        const n = Math.min(this.body.length - this.bodyFilled, end - pos)
        this.body.set(chunk.subarray(pos, pos + n), this.bodyFilled)
        this.bodyFilled += n
        pos += n
        if (this.bodyFilled === this.body.length) {
          const body = this.body
          this.body = undefined
          this.bodyFilled = 0
          if (onSpan(body, 0, body.length) === false) return pos
        }
        continue
      }
      if (this.headerLen > 0) {
        // Finish a header split across chunks, one byte at a time (at most 10 bytes ever).
        this.header[this.headerLen++] = chunk[pos++]!
        if (!readUvarint(this.header, 0, this.headerLen, this.varint)) {
          if (this.headerLen === 10) throw new MalformedMessageError('varint longer than 10 bytes')
          continue
        }
        this.headerLen = 0
        this.startBody(this.varint.value)
        if (this.body === undefined && onSpan(EMPTY, 0, 0) === false) return pos
        continue
      }
      if (!readUvarint(chunk, pos, end, this.varint)) {
        const rest = end - pos
        this.header.set(chunk.subarray(pos, end), 0)
        this.headerLen = rest
        return end
      }
      const len = this.varint.value
      this.checkSize(len)
      pos = this.varint.next
      if (end - pos >= len) {
        const start = pos
        pos += len
        if (onSpan(chunk, start, pos) === false) return pos
      } else {
        this.startBody(len)
      }
    }
    return pos
  }

  private checkSize (len: number): void {
    if (len > this.maxSize) throw new MessageTooLargeError(this.what, len, this.maxSize)
  }

  private startBody (len: number): void {
    this.checkSize(len)
    if (len > 0) {
      this.body = this.carve(len)
      this.bodyFilled = 0
    }
  }

  /**
   * Room for a body split across chunks. Small ones are carved from a slab (as Buffer's pool does):
   * a stream of large packets splits one at every read, and an ArrayBuffer each cost the garbage
   * collector more than the copy. A body kept by its receiver pins at most one slab.
   */
  private carve (len: number): Uint8Array {
    if (len > SLAB_BYTES / 4) return new Uint8Array(len)
    if (this.slab === undefined || this.slabUsed + len > SLAB_BYTES) {
      this.slab = new ArrayBuffer(SLAB_BYTES)
      this.slabUsed = 0
    }
    const body = new Uint8Array(this.slab, this.slabUsed, len)
    // Keep the next body 8-byte aligned, as Buffer's pool does.
    this.slabUsed += (len + 7) & ~7
    return body
  }
}

const EMPTY: Uint8Array = new Uint8Array(0)
/** Size of the slab split bodies of up to a quarter of it are carved from. */
const SLAB_BYTES = 16 * 1024
