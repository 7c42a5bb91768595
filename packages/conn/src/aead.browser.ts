/**
 * Browser build of aead.ts (swapped in through package.json's "browser" field): ChaCha20-Poly1305
 * from @noble/ciphers (audited, pure JS), one frame per call, batched by frame-batch.ts. WebCrypto
 * has no ChaCha20-Poly1305, and neither the native addon, sodium-native nor node:crypto exists in
 * a page. Same exports as aead.ts.
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js'
import type { AeadName } from './aead.js'
import { perFrame, type FrameAead } from './frame-batch.js'

export type { AeadName } from './aead.js'
export { TAG_SIZE, type FrameAead } from './frame-batch.js'

// AeadName (aead.ts) names the Node implementations, which the rest of the code is typed against;
// in a page the name reported at run time is '@noble/ciphers'.
const NOBLE = '@noble/ciphers' as unknown as AeadName

export const defaultAead: AeadName = NOBLE

export function availableAeads (): AeadName[] {
  return [NOBLE]
}

export function createAead (key: Uint8Array, _name: AeadName = defaultAead, _encrypt = true): FrameAead {
  if (key.length !== 32) throw new RangeError(`ChaCha20-Poly1305 key must be 32 bytes, got ${key.length}`)
  const k = Uint8Array.from(key)
  return perFrame({
    name: NOBLE,
    // `out` may be the input's memory: noble returns a new array, copied in afterwards.
    seal (out, plaintext, nonce) {
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
  })
}
