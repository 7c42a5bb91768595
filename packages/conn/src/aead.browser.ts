/**
 * Browser build of aead.ts (swapped in through package.json's "browser" field): ChaCha20-Poly1305
 * from @noble/ciphers (audited, pure JS). WebCrypto has no ChaCha20-Poly1305, and neither
 * sodium-native nor node:crypto exists in a page. Same exports as aead.ts.
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js'

export type AeadName = 'sodium-native' | 'node:crypto' | '@noble/ciphers'

export const TAG_SIZE = 16

export interface FrameAead {
  readonly name: AeadName
  seal (out: Uint8Array, plaintext: Uint8Array, nonce: Uint8Array): void
  open (out: Uint8Array, sealed: Uint8Array, nonce: Uint8Array): boolean
}

export const defaultAead: AeadName = '@noble/ciphers'

export function availableAeads (): AeadName[] {
  return ['@noble/ciphers']
}

export function createAead (key: Uint8Array, _name: AeadName = defaultAead): FrameAead {
  if (key.length !== 32) throw new RangeError(`ChaCha20-Poly1305 key must be 32 bytes, got ${key.length}`)
  const k = Uint8Array.from(key)
  return {
    name: '@noble/ciphers',
    seal (out, plaintext, nonce) {
      // The frame code may pass the same memory as input and output; seal into a fresh array.
      out.set(chacha20poly1305(k, nonce).encrypt(plaintext), 0)
    },
    open (out, sealed, nonce) {
      try {
        out.set(chacha20poly1305(k, nonce).decrypt(sealed), 0)
        return true
      } catch {
        return false
      }
    }
  }
}
