/**
 * ChaCha20-Poly1305 (IETF) for SecretConnection frames. CometBFT seals every 1028-byte frame
 * separately, so the per-call cost decides the ceiling. Three implementations, best first
 * (measured in docs/benchmarks.md):
 * - 'native': @switchyard/aead-native, all frames of a write or read in one call (OpenSSL EVP of
 *   the node process), built from source at install where a C compiler is present;
 * - 'sodium-native': one call per frame (optional dependency shipped prebuilt);
 * - 'node:crypto': a cipher object per frame; always there.
 * SWITCHYARD_AEAD=native|sodium-native|node:crypto picks the default (an unavailable one is an error).
 */
import crypto from 'node:crypto'
import { createRequire } from 'node:module'
import createDebug from 'debug'
import { loadNativeAead, nativeAeadUnavailableReason, type NativeAead } from '@switchyard/aead-native'

const log = createDebug('switchyard:conn:aead')

export type AeadName = 'native' | 'sodium-native' | 'node:crypto'

export const TAG_SIZE = 16
/** Plaintext frame (LE32 length + 1024 data bytes) and the sealed frame on the wire. */
const FRAME = 1028
const SEALED = FRAME + TAG_SIZE

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

interface Sodium {
  crypto_aead_chacha20poly1305_ietf_encrypt: (c: Uint8Array, m: Uint8Array, ad: null, nsec: null, npub: Uint8Array, k: Uint8Array) => number
  crypto_aead_chacha20poly1305_ietf_decrypt: (m: Uint8Array, nsec: null, c: Uint8Array, ad: null, npub: Uint8Array, k: Uint8Array) => number
}

function loadSodium (): Sodium | undefined {
  try {
    return createRequire(import.meta.url)('sodium-native') as Sodium
  } catch (err) {
    log('sodium-native unavailable: %s', (err as Error).message)
    return undefined
  }
}

const native: NativeAead | undefined = loadNativeAead()
if (native === undefined) log('native batch AEAD unavailable: %s', nativeAeadUnavailableReason())
const sodium = loadSodium()

export function availableAeads (): AeadName[] {
  const names: AeadName[] = []
  if (native !== undefined) names.push('native')
  if (sodium !== undefined) names.push('sodium-native')
  names.push('node:crypto')
  return names
}

function chooseDefault (): AeadName {
  const asked = process.env.SWITCHYARD_AEAD
  if (asked === undefined || asked === '') return availableAeads()[0]!
  const name = asked === 'node' ? 'node:crypto' : asked
  if (!(availableAeads() as string[]).includes(name)) {
    const why = name === 'native' ? ` (${nativeAeadUnavailableReason()})` : ''
    throw new Error(`SWITCHYARD_AEAD=${asked} but that implementation is not available${why}; available: ${availableAeads().join(', ')}`)
  }
  return name as AeadName
}

/** The implementation new connections use unless told otherwise. */
export const defaultAead: AeadName = chooseDefault()
log('frames sealed with %s', defaultAead)

/** A sealer (`encrypt`) or opener for one key; each direction of a connection has its own. */
export function createAead (key: Uint8Array, name: AeadName = defaultAead, encrypt = true): FrameAead {
  if (key.length !== 32) throw new RangeError(`ChaCha20-Poly1305 key must be 32 bytes, got ${key.length}`)
  if (name === 'native') {
    if (native === undefined) throw new Error(`the native AEAD is not available: ${nativeAeadUnavailableReason()}`)
    return nativeAead(native, key, encrypt)
  }
  if (name === 'sodium-native') {
    if (sodium === undefined) throw new Error('sodium-native is not available')
    return perFrame(sodiumSingle(sodium, Uint8Array.from(key)))
  }
  return perFrame(nodeSingle(Buffer.from(key)))
}

function writeNonce (nonce: Uint8Array, lo: number, hi: number): void {
  nonce[4] = lo; nonce[5] = lo >>> 8; nonce[6] = lo >>> 16; nonce[7] = lo >>> 24
  nonce[8] = hi; nonce[9] = hi >>> 8; nonce[10] = hi >>> 16; nonce[11] = hi >>> 24
}

function nativeAead (n: NativeAead, key: Uint8Array, encrypt: boolean): FrameAead {
  const cipher = n.createCipher(key, encrypt)
  // Single frames go through a batch of one in a scratch slot (tests and the handshake only).
  const slot = new Uint8Array(SEALED)
  return {
    name: 'native',
    seal (out, plaintext, nonce) {
      if (plaintext.length !== FRAME) throw new RangeError(`native seal takes ${FRAME}-byte frames`)
      slot.set(plaintext)
      n.sealFrames(cipher, slot, 1, readU32(nonce, 4), readU32(nonce, 8))
      out.set(slot)
    },
    open (out, sealed, nonce) {
      if (sealed.length !== SEALED) throw new RangeError(`native open takes ${SEALED}-byte frames`)
      slot.set(sealed)
      const r = n.openFrames(cipher, slot, 1, readU32(nonce, 4), readU32(nonce, 8))
      if (r === -1) return false
      if (r === -2) { out.set(slot.subarray(0, FRAME)); return true } // authentic, declares > 1024
      // openFrames moved the r data bytes to the front; put the frame back together around them.
      out.set(slot.subarray(4 + r, FRAME), 4 + r)
      out.set(slot.subarray(0, r), 4)
      out[0] = r; out[1] = r >>> 8; out[2] = 0; out[3] = 0
      return true
    },
    sealFrames: (buf, frames, lo, hi) => { n.sealFrames(cipher, buf, frames, lo, hi) },
    openFrames: (buf, frames, lo, hi) => n.openFrames(cipher, buf, frames, lo, hi)
  }
}

function readU32 (b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0
}

type Single = Pick<FrameAead, 'name' | 'seal' | 'open'>

/** Batches for the per-frame implementations: a loop over views of the buffer. */
function perFrame (single: Single): FrameAead {
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

function sodiumSingle (s: Sodium, key: Uint8Array): Single {
  return {
    name: 'sodium-native',
    seal (out, plaintext, nonce) {
      s.crypto_aead_chacha20poly1305_ietf_encrypt(out, plaintext, null, null, nonce, key)
    },
    open (out, sealed, nonce) {
      try {
        s.crypto_aead_chacha20poly1305_ietf_decrypt(out, null, sealed, null, nonce, key)
        return true
      } catch {
        return false
      }
    }
  }
}

function nodeSingle (key: Buffer): Single {
  return {
    name: 'node:crypto',
    seal (out, plaintext, nonce) {
      const c = crypto.createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_SIZE })
      const body = c.update(plaintext)
      c.final()
      out.set(body, 0)
      out.set(c.getAuthTag(), body.length)
    },
    open (out, sealed, nonce) {
      const body = sealed.length - TAG_SIZE
      const d = crypto.createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_SIZE })
      d.setAuthTag(sealed.subarray(body))
      try {
        const plain = d.update(sealed.subarray(0, body))
        d.final()
        out.set(plain, 0)
        return plain.length === body
      } catch {
        return false
      }
    }
  }
}
