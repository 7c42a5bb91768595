/**
 * Loader of the optional native frame cipher (native/aead.c, built at install by scripts/build.cjs).
 * `loadNativeAead()` returns undefined, never throws, when the module was not built, does not load,
 * or fails a cross-check against node:crypto: callers then use a per-frame implementation.
 */
import crypto from 'node:crypto'
import { createRequire } from 'node:module'

/** An OpenSSL cipher context bound to one key and one direction. */
export type NativeCipher = object & { readonly __nativeCipher: unique symbol }

export interface NativeAead {
  /** A context for sealing (`encrypt` true) or opening with a 32-byte key. */
  createCipher: (key: Uint8Array, encrypt: boolean) => NativeCipher
  /**
   * Seals `frames` frames of `buf` in place: frame i occupies bytes [1044 i, 1044 i + 1044), its
   * first 1028 bytes the plaintext, the last 16 receive the tag; nonce counter (lo, hi) + i.
   */
  sealFrames: (sealer: NativeCipher, buf: Uint8Array, frames: number, lo: number, hi: number) => void
  /**
   * Opens `frames` frames of `buf` in place and moves their data bytes to the front of `buf`.
   * Returns the data byte count; for a failure at frame i, -(2i + 1) (authentication) or
   * -(2i + 2) (declared length over 1024).
   */
  openFrames: (opener: NativeCipher, buf: Uint8Array, frames: number, lo: number, hi: number) => number
}

export const FRAME_SIZE = 1028
export const SEALED_FRAME_SIZE = 1044

let cached: { aead: NativeAead | undefined, reason: string } | undefined

/** Why the last load attempt gave undefined (for logs); empty when it loaded. */
export function nativeAeadUnavailableReason (): string {
  return cached?.reason ?? ''
}

export function loadNativeAead (): NativeAead | undefined {
  if (cached === undefined) {
    try {
      const aead = createRequire(import.meta.url)('../build/aead.node') as NativeAead
      crossCheck(aead)
      cached = { aead, reason: '' }
    } catch (err) {
      cached = { aead: undefined, reason: (err as Error).message }
    }
  }
  return cached.aead
}

/** Seals and opens two frames and compares them with node:crypto; throws on any difference. */
function crossCheck (aead: NativeAead): void {
  const key = crypto.createHash('sha256').update('switchyard aead-native self test').digest()
  const buf = Buffer.alloc(2 * SEALED_FRAME_SIZE)
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 7) & 0xff
  buf.writeUInt32LE(1024, 0)
  buf.writeUInt32LE(5, SEALED_FRAME_SIZE)
  const plain = Buffer.from(buf)
  const lo = 0xfffffffe
  const hi = 7
  aead.sealFrames(aead.createCipher(key, true), buf, 2, lo, hi)
  for (let i = 0; i < 2; i++) {
    const nonce = Buffer.alloc(12)
    nonce.writeUInt32LE(lo + i, 4)
    nonce.writeUInt32LE(hi, 8)
    const c = crypto.createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 })
    const at = i * SEALED_FRAME_SIZE
    const expected = Buffer.concat([c.update(plain.subarray(at, at + FRAME_SIZE)), c.final(), c.getAuthTag()])
    if (!expected.equals(buf.subarray(at, at + SEALED_FRAME_SIZE))) throw new Error('native seal disagrees with node:crypto')
  }
  const n = aead.openFrames(aead.createCipher(key, false), buf, 2, lo, hi)
  if (n !== 1029 || !buf.subarray(0, 1024).equals(plain.subarray(4, 1028)) ||
    !buf.subarray(1024, 1029).equals(plain.subarray(SEALED_FRAME_SIZE + 4, SEALED_FRAME_SIZE + 9))) {
    throw new Error('native open disagrees with node:crypto')
  }
}
