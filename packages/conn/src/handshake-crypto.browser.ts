/**
 * Browser build of handshake-crypto.ts (swapped in through package.json's "browser" field):
 * X25519 and ed25519 from @noble/curves, HKDF-SHA256 from @noble/hashes, randomness from
 * WebCrypto's getRandomValues. Synchronous like the Node module: WebCrypto's X25519/Ed25519 are
 * async-only and the handshake's steps are synchronous (docs/browser.md). Same exports.
 */
import { ed25519, x25519 as curve } from '@noble/curves/ed25519.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { LowOrderKeyError } from './errors.js'

const HKDF_INFO = new TextEncoder().encode('TENDERMINT_SECRET_CONNECTION_KEY_AND_CHALLENGE_GEN')

export interface EphemeralKeys { privateKey: unknown, publicKey: Uint8Array }

export function ephemeralKeys (fixedPrivate?: Uint8Array): EphemeralKeys {
  const secret = fixedPrivate !== undefined ? Uint8Array.from(fixedPrivate) : globalThis.crypto.getRandomValues(new Uint8Array(32))
  return { privateKey: secret, publicKey: curve.getPublicKey(secret) }
}

/** X25519; an all-zero result (a low-order peer point) is refused. */
export function x25519 (privateKey: unknown, peerPublic: Uint8Array): Uint8Array {
  let secret: Uint8Array
  try {
    secret = curve.getSharedSecret(privateKey as Uint8Array, peerPublic)
  } catch {
    // noble refuses low-order points itself; report them the same way.
    throw new LowOrderKeyError()
  }
  if (secret.every(b => b === 0)) throw new LowOrderKeyError()
  return secret
}

export function deriveSecrets (dhSecret: Uint8Array, locIsLeast: boolean): { recvKey: Uint8Array, sendKey: Uint8Array } {
  const okm = hkdf(sha256, dhSecret, new Uint8Array(0), HKDF_INFO, 64)
  const a = okm.subarray(0, 32)
  const b = okm.subarray(32, 64)
  return locIsLeast ? { recvKey: a, sendKey: b } : { recvKey: b, sendKey: a }
}

/** Strict RFC 8032 verification (zip215: false), the same verdicts as OpenSSL on the Node side. */
export function verifyEd25519 (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false })
  } catch {
    return false
  }
}

export function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}

export function hexPrefix (b: Uint8Array): string {
  return Array.from(b.subarray(0, 8), x => x.toString(16).padStart(2, '0')).join('')
}
