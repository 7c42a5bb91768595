/**
 * The FrameAead interface and batching for per-frame AEAD implementations (a loop over views of
 * the buffer). No node: imports: the browser build of aead.ts uses it too.
 */
import type { AeadName } from './aead.js'

export const TAG_SIZE = 16
/** Plaintext frame (LE32 length + 1024 data bytes) and the sealed frame on the wire. */
export const FRAME = 1028
export const SEALED = FRAME + TAG_SIZE

/**
 * Seals/opens with one fixed key. Single frames take the nonce bytes; batches take the 64-bit
 * counter as (lo, hi) 32-bit halves and use counter + i for frame i.
 */
export interface FrameAead {
  readonly name: AeadName
  /** Writes ciphertext‖tag (plaintext.length + 16 bytes) into `out` (which may be the input). */
  seal: (out: Uint8Array, plaintext: Uint8Array, nonce: Uint8Array) => void
  /** Writes the plaintext (sealed.length − 16 bytes) into `out`; false when authentication fails. */
  open: (out: Uint8Array, sealed: Uint8Array, nonce: Uint8Array) => boolean
  /**
   * Seals `frames` frames of `buf` in place: frame i is bytes [1044 i, 1044 (i + 1)), its first
   * 1028 bytes the plaintext; the tag goes into its last 16.
   */
  sealFrames: (buf: Uint8Array, frames: number, lo: number, hi: number) => void
  /**
   * Opens `frames` frames of `buf` in place and moves their data bytes to the front of `buf`, back
   * to back. Returns the data byte count; for a failure at frame i, -(2i + 1) when authentication
   * failed, -(2i + 2) when the frame declares more than 1024 data bytes.
   */
  openFrames: (buf: Uint8Array, frames: number, lo: number, hi: number) => number
}

export type Single = Pick<FrameAead, 'name' | 'seal' | 'open'>

export function writeNonce (nonce: Uint8Array, lo: number, hi: number): void {
  nonce[4] = lo; nonce[5] = lo >>> 8; nonce[6] = lo >>> 16; nonce[7] = lo >>> 24
  nonce[8] = hi; nonce[9] = hi >>> 8; nonce[10] = hi >>> 16; nonce[11] = hi >>> 24
}

export function readU32 (b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0
}

/** Batches for the per-frame implementations: a loop over views of the buffer. */
export function perFrame (single: Single): FrameAead {
  const nonce = new Uint8Array(12)
  return {
    ...single,
    sealFrames (buf, frames, lo, hi) {
      for (let i = 0; i < frames; i++) {
        writeNonce(nonce, lo, hi)
        const at = buf.byteOffset + i * SEALED
        single.seal(new Uint8Array(buf.buffer, at, SEALED), new Uint8Array(buf.buffer, at, FRAME), nonce)
        if (lo === 0xffffffff) { lo = 0; hi++ } else lo++
      }
    },
    openFrames (buf, frames, lo, hi) {
      let out = 0
      for (let i = 0; i < frames; i++) {
        writeNonce(nonce, lo, hi)
        const at = i * SEALED
        if (!single.open(new Uint8Array(buf.buffer, buf.byteOffset + at, FRAME), new Uint8Array(buf.buffer, buf.byteOffset + at, SEALED), nonce)) return -(2 * i + 1)
        const len = readU32(buf, at)
        if (len > 1024) return -(2 * i + 2)
        buf.copyWithin(out, at + 4, at + 4 + len)
        out += len
        if (lo === 0xffffffff) { lo = 0; hi++ } else lo++
      }
      return out
    }
  }
}
