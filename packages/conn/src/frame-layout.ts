/**
 * The SecretConnection frame layout in a send buffer: frame i occupies SEALED_FRAME_SIZE bytes from
 * i × SEALED_FRAME_SIZE: a LE32 data length, DATA_MAX_SIZE data bytes (zero padded), a 16-byte tag.
 * A writer that lays its bytes out this way (MConnection) lets SecretConnection seal them in place:
 * the application's bytes are copied once, straight into their final position.
 */
import { TAG_SIZE } from './aead.js'

export const DATA_MAX_SIZE = 1024
export const DATA_LEN_SIZE = 4
export const FRAME_SIZE = DATA_MAX_SIZE + DATA_LEN_SIZE // 1028
export const SEALED_FRAME_SIZE = FRAME_SIZE + TAG_SIZE // 1044

/** Bytes of a framed buffer able to carry `dataBytes` bytes of stream data. */
export function framedSize (dataBytes: number): number {
  return Math.max(1, Math.ceil(dataBytes / DATA_MAX_SIZE)) * SEALED_FRAME_SIZE
}

/** Where logical stream byte `p` sits in a framed buffer. */
export function framedOffset (p: number): number {
  const frame = Math.floor(p / DATA_MAX_SIZE)
  return frame * SEALED_FRAME_SIZE + DATA_LEN_SIZE + (p - frame * DATA_MAX_SIZE)
}

/**
 * Copies `src[start, end)` to logical position `p` of the framed buffer `out`, split at frame
 * boundaries. Returns the logical position after it.
 */
export function copyFramed (out: Uint8Array, p: number, src: Uint8Array, start: number, end: number): number {
  while (start < end) {
    const room = DATA_MAX_SIZE - (p % DATA_MAX_SIZE)
    const n = Math.min(room, end - start)
    const at = framedOffset(p)
    if (n <= 16) {
      // Packet headers are a few bytes: a loop beats creating a view to copy them.
      for (let i = 0; i < n; i++) out[at + i] = src[start + i]!
    } else if (start === 0 && n === src.length) {
      out.set(src, at)
    } else {
      // A plain Uint8Array view: cheaper than Buffer's subarray (a FastBuffer) or copy().
      out.set(new Uint8Array(src.buffer, src.byteOffset + start, n), at)
    }
    p += n
    start += n
  }
  return p
}

/**
 * Fills in the length field of every frame carrying `dataBytes` bytes and zeroes the unused tail of
 * the last one. Returns the number of frames.
 */
export function finishFrames (out: Uint8Array, dataBytes: number): number {
  const frames = Math.ceil(dataBytes / DATA_MAX_SIZE)
  for (let i = 0; i < frames; i++) {
    const at = i * SEALED_FRAME_SIZE
    const n = i === frames - 1 ? dataBytes - i * DATA_MAX_SIZE : DATA_MAX_SIZE
    out[at] = n; out[at + 1] = n >>> 8; out[at + 2] = 0; out[at + 3] = 0
    if (n < DATA_MAX_SIZE) out.fill(0, at + DATA_LEN_SIZE + n, at + FRAME_SIZE)
  }
  return frames
}

/** A stream that accepts bytes already laid out in frames (SecretConnection). */
export interface FramedWriter {
  /**
   * A buffer for a batch of up to `dataBytes` stream bytes (at least framedSize(dataBytes) long),
   * possibly one a previous writeFramed() call handed back once the socket had written it.
   */
  framedBuffer: (dataBytes: number) => Buffer
  /**
   * Seals and sends the first `dataBytes` logical bytes of `buf` (laid out with copyFramed).
   * False means the socket is full: wait for 'drain' on the stream before writing again.
   */
  writeFramed: (buf: Uint8Array, dataBytes: number) => boolean
}

export function isFramedWriter (stream: unknown): stream is FramedWriter {
  return typeof (stream as Partial<FramedWriter>).writeFramed === 'function'
}
