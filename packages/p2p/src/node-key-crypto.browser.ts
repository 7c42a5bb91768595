/**
 * Browser build of node-key-crypto.ts (swapped in through package.json's "browser" field):
 * ed25519 from @noble/curves, SHA-256 from @noble/hashes, seeds from WebCrypto's
 * getRandomValues. Synchronous, like the Node module (NodeKey.sign is). Same exports.
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'

export interface Ed25519Signer {
  readonly publicKey: Uint8Array
  sign (message: Uint8Array): Uint8Array
}

/** Which library signs: @noble/curves here (WebCrypto cannot import a seed synchronously). */
export const ed25519Signing = '@noble/curves'

export function ed25519FromSeed (seed: Uint8Array): Ed25519Signer {
  const secret = Uint8Array.from(seed)
  return { publicKey: ed25519.getPublicKey(secret), sign: message => ed25519.sign(message, secret) }
}

export function generateEd25519 (): { seed: Uint8Array, signer: Ed25519Signer } {
  const seed = randomSeed()
  return { seed, signer: ed25519FromSeed(seed) }
}

export function sha256 (data: Uint8Array): Uint8Array {
  return nobleSha256(data)
}

export function randomSeed (): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(32))
}
