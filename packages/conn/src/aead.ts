/**
 * ChaCha20-Poly1305 (IETF) for SecretConnection frames. CometBFT seals every 1028-byte frame
 * separately, so the per-call cost decides the ceiling. Measured here (docs/benchmarks.md):
 * sodium-native ~700 MB/s, node:crypto ~100–150 MB/s (it needs a new cipher object per frame).
 * sodium-native is an optional dependency shipped prebuilt; when it cannot load, node:crypto is used.
 * SWITCHYARD_AEAD=node forces the fallback.
 */
import crypto from 'node:crypto'
import { createRequire } from 'node:module'
import createDebug from 'debug'

const log = createDebug('switchyard:conn:aead')

export type AeadName = 'sodium-native' | 'node:crypto'

export const TAG_SIZE = 16

/**
 * Seals/opens with one fixed key; the nonce is passed per call. `out` may be the same memory as the
 * input (in-place), which the frame code relies on; both implementations allow it.
 */
export interface FrameAead {
  readonly name: AeadName
  /** Writes ciphertext‖tag (plaintext.length + 16 bytes) into `out`. */
  seal (out: Uint8Array, plaintext: Uint8Array, nonce: Uint8Array): void
  /** Writes the plaintext (sealed.length − 16 bytes) into `out`; false when authentication fails. */
  open (out: Uint8Array, sealed: Uint8Array, nonce: Uint8Array): boolean
}

interface Sodium {
  crypto_aead_chacha20poly1305_ietf_encrypt: (c: Uint8Array, m: Uint8Array, ad: null, nsec: null, npub: Uint8Array, k: Uint8Array) => number
  crypto_aead_chacha20poly1305_ietf_decrypt: (m: Uint8Array, nsec: null, c: Uint8Array, ad: null, npub: Uint8Array, k: Uint8Array) => number
}

function loadSodium (): Sodium | undefined {
  if (process.env.SWITCHYARD_AEAD === 'node') return undefined
  try {
    return createRequire(import.meta.url)('sodium-native') as Sodium
  } catch (err) {
    log('sodium-native unavailable, using node:crypto: %s', (err as Error).message)
    return undefined
  }
}

const sodium = loadSodium()

/** The implementation new connections use unless told otherwise. */
export const defaultAead: AeadName = sodium !== undefined ? 'sodium-native' : 'node:crypto'

export function availableAeads (): AeadName[] {
  return sodium !== undefined ? ['sodium-native', 'node:crypto'] : ['node:crypto']
}

export function createAead (key: Uint8Array, name: AeadName = defaultAead): FrameAead {
  if (key.length !== 32) throw new RangeError(`ChaCha20-Poly1305 key must be 32 bytes, got ${key.length}`)
  if (name === 'sodium-native') {
    if (sodium === undefined) throw new Error('sodium-native is not available')
    return sodiumAead(sodium, Uint8Array.from(key))
  }
  return nodeAead(Buffer.from(key))
}

function sodiumAead (s: Sodium, key: Uint8Array): FrameAead {
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

function nodeAead (key: Buffer): FrameAead {
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
