/**
 * Browser build of handshake-crypto.ts (swapped in through package.json's "browser" field).
 * X25519 and ed25519 verification use WebCrypto where the browser has them (Chromium 133+/137+,
 * Firefox 129+/130+, Safari 17+: native code, and the ephemeral private key is a non-extractable
 * CryptoKey), detected once at the first handshake; otherwise @noble/curves (audited, pure JS).
 * HKDF-SHA256 is @noble/hashes (one 64-byte derivation per handshake; WebCrypto's would be async
 * for no gain). Randomness: crypto.getRandomValues. Same exports as the Node module; the
 * WebCrypto paths are asynchronous, which the handshake awaits.
 */
import { ed25519, x25519 as curve } from '@noble/curves/ed25519.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { LowOrderKeyError } from './errors.js'

const HKDF_INFO = new TextEncoder().encode('TENDERMINT_SECRET_CONNECTION_KEY_AND_CHALLENGE_GEN')

/** The part of WebCrypto's SubtleCrypto used here (typed locally: the build has no DOM library). */
interface Subtle {
  generateKey: (alg: { name: string }, extractable: boolean, usages: string[]) => Promise<{ privateKey: object, publicKey: object }>
  exportKey: (format: 'raw', key: object) => Promise<ArrayBuffer>
  importKey: (format: 'raw', data: Uint8Array, alg: { name: string }, extractable: boolean, usages: string[]) => Promise<object>
  deriveBits: (alg: { name: string, public: object }, key: object, bits: number) => Promise<ArrayBuffer>
  verify: (alg: { name: string }, key: object, signature: Uint8Array, data: Uint8Array) => Promise<boolean>
}

/** Which implementation the handshake uses for X25519 and for ed25519 verification. */
export interface HandshakeCryptoStatus { x25519: 'node:crypto' | 'webcrypto' | '@noble/curves', ed25519Verify: 'node:crypto' | 'webcrypto' | '@noble/curves' }

const subtle = (globalThis.crypto as unknown as { subtle?: Subtle } | undefined)?.subtle
let probed: Promise<HandshakeCryptoStatus> | undefined

// A known-answer probe rather than a feature flag: a browser may list the algorithm and still fail.
async function probe (): Promise<HandshakeCryptoStatus> {
  if (subtle === undefined) return { x25519: '@noble/curves', ed25519Verify: '@noble/curves' }
  const x = await (async () => {
    const a = await subtle.generateKey({ name: 'X25519' }, false, ['deriveBits'])
    const b = curve.keygen()
    const peer = await subtle.importKey('raw', b.publicKey, { name: 'X25519' }, true, [])
    const ours = new Uint8Array(await subtle.deriveBits({ name: 'X25519', public: peer }, a.privateKey, 256))
    const theirs = curve.getSharedSecret(b.secretKey, new Uint8Array(await subtle.exportKey('raw', a.publicKey)))
    return ours.every((v, i) => v === theirs[i])
  })().catch(() => false)
  const e = await (async () => {
    const seed = globalThis.crypto.getRandomValues(new Uint8Array(32))
    const msg = new Uint8Array([1, 2, 3])
    const key = await subtle.importKey('raw', ed25519.getPublicKey(seed), { name: 'Ed25519' }, false, ['verify'])
    const sig = ed25519.sign(msg, seed)
    const good = await subtle.verify({ name: 'Ed25519' }, key, sig, msg)
    sig[0]! ^= 1
    return good && !await subtle.verify({ name: 'Ed25519' }, key, sig, msg)
  })().catch(() => false)
  return { x25519: x ? 'webcrypto' : '@noble/curves', ed25519Verify: e ? 'webcrypto' : '@noble/curves' }
}

export async function handshakeCryptoStatus (): Promise<HandshakeCryptoStatus> {
  probed ??= probe()
  return await probed
}

export type HandshakeCryptoName = 'sodium-native' | 'node:crypto'

/** The Node backends (libsodium, OpenSSL): none in a browser, which uses WebCrypto or @noble. */
export function availableHandshakeCrypto (): HandshakeCryptoName[] {
  return []
}

export function handshakeCryptoBackend (name: HandshakeCryptoName): never {
  throw new Error(`handshake crypto ${name} is not available in a browser (WebCrypto or @noble/curves are used)`)
}

/** The private key is a non-extractable CryptoKey (WebCrypto) or 32 bytes (@noble). */
export interface EphemeralKeys { privateKey: unknown, publicKey: Uint8Array }

export async function ephemeralKeys (fixedPrivate?: Uint8Array): Promise<EphemeralKeys> {
  if (fixedPrivate === undefined && subtle !== undefined && (await handshakeCryptoStatus()).x25519 === 'webcrypto') {
    const pair = await subtle.generateKey({ name: 'X25519' }, false, ['deriveBits'])
    return { privateKey: pair.privateKey, publicKey: new Uint8Array(await subtle.exportKey('raw', pair.publicKey)) }
  }
  const secret = fixedPrivate !== undefined ? Uint8Array.from(fixedPrivate) : globalThis.crypto.getRandomValues(new Uint8Array(32))
  return { privateKey: secret, publicKey: curve.getPublicKey(secret) }
}

/** X25519; an all-zero result (a low-order peer point) is refused. */
export async function x25519 (privateKey: unknown, peerPublic: Uint8Array): Promise<Uint8Array> {
  let secret: Uint8Array
  try {
    if (privateKey instanceof Uint8Array) {
      secret = curve.getSharedSecret(privateKey, peerPublic)
    } else {
      const peer = await subtle!.importKey('raw', peerPublic, { name: 'X25519' }, true, [])
      secret = new Uint8Array(await subtle!.deriveBits({ name: 'X25519', public: peer }, privateKey as object, 256))
    }
  } catch {
    // Both refuse low-order points themselves (noble, and WebCrypto's all-zero check); same error.
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

/** Strict RFC 8032 verification (noble with zip215: false; WebCrypto's is strict), as OpenSSL on Node. */
export async function verifyEd25519 (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  if (publicKey.length !== 32 || signature.length !== 64) return false
  try {
    if ((await handshakeCryptoStatus()).ed25519Verify === 'webcrypto') {
      const key = await subtle!.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify'])
      return await subtle!.verify({ name: 'Ed25519' }, key, signature, message)
    }
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
