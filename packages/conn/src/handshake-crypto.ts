/**
 * The handshake's cryptography on Node: X25519, HKDF-SHA256, ed25519 verify. Two backends with the
 * same results (test/handshake-crypto.test.ts checks both against CometBFT's vectors):
 * - 'sodium-native' (libsodium, the optional dependency that also seals frames): raw 32-byte keys
 *   in and out, no key objects; per handshake side about half the CPU of node:crypto here
 *   (X25519 key pair 19 µs vs 63, DH 37 vs 59, verify 77 vs 154: docs/benchmarks.md);
 * - 'node:crypto' (OpenSSL): always there.
 * SWITCHYARD_HANDSHAKE_CRYPTO=sodium-native|node:crypto picks one (an unavailable one is an error).
 * A browser build replaces this module with one of the same exports (packages/browser).
 */
import crypto from 'node:crypto'
import { createRequire } from 'node:module'
import createDebug from 'debug'
import { LowOrderKeyError } from './errors.js'

const log = createDebug('switchyard:conn:handshake')

const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex')
const HKDF_INFO = Buffer.from('TENDERMINT_SECRET_CONNECTION_KEY_AND_CHALLENGE_GEN')

export type HandshakeCryptoName = 'sodium-native' | 'node:crypto'

/** Which implementation the handshake uses for X25519 and for ed25519 verification. */
export interface HandshakeCryptoStatus {
  x25519: HandshakeCryptoName | 'webcrypto' | '@noble/curves'
  ed25519Verify: HandshakeCryptoName | 'webcrypto' | '@noble/curves'
}

/** An ephemeral X25519 pair; the private key is opaque (its backend's form). */
export interface EphemeralKeys { privateKey: unknown, publicKey: Uint8Array }

/** One implementation of the handshake's public-key operations. */
export interface HandshakeCryptoBackend {
  readonly name: HandshakeCryptoName
  ephemeralKeys: (fixedPrivate?: Uint8Array) => EphemeralKeys
  /** X25519 with a private key from this backend's ephemeralKeys; an all-zero result is refused. */
  x25519: (privateKey: unknown, peerPublic: Uint8Array) => Uint8Array
  verifyEd25519: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean
  /** HKDF-SHA256 (RFC 5869) of a 32-byte secret, empty salt, the SecretConnection's info, 64 bytes. */
  hkdf: (secret: Uint8Array) => Uint8Array
}

// Raw public keys are imported as JWK: OpenSSL 3 decodes a JWK about 10× faster than SPKI DER.
function publicKeyObject (crv: 'X25519' | 'Ed25519', raw: Uint8Array): crypto.KeyObject {
  return crypto.createPublicKey({ key: { kty: 'OKP', crv, x: Buffer.from(raw).toString('base64url') }, format: 'jwk' })
}

const nodeCrypto: HandshakeCryptoBackend = {
  name: 'node:crypto',
  ephemeralKeys (fixedPrivate) {
    if (fixedPrivate !== undefined) {
      const privateKey = crypto.createPrivateKey({ key: Buffer.concat([X25519_PKCS8, fixedPrivate]), format: 'der', type: 'pkcs8' })
      return { privateKey, publicKey: Buffer.from(crypto.createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url') }
    }
    const pair = crypto.generateKeyPairSync('x25519')
    return { privateKey: pair.privateKey, publicKey: Buffer.from(pair.publicKey.export({ format: 'jwk' }).x!, 'base64url') }
  },
  x25519 (privateKey, peerPublic) {
    let secret: Buffer
    try {
      secret = crypto.diffieHellman({ privateKey: privateKey as crypto.KeyObject, publicKey: publicKeyObject('X25519', peerPublic) })
    } catch (err) {
      // OpenSSL itself refuses some low-order points; report them the same way.
      log('X25519 failed: %s', (err as Error).message)
      throw new LowOrderKeyError()
    }
    if (secret.every(b => b === 0)) throw new LowOrderKeyError()
    return secret
  },
  verifyEd25519 (publicKey, message, signature) {
    if (publicKey.length !== 32 || signature.length !== 64) return false
    try {
      return crypto.verify(null, message, publicKeyObject('Ed25519', publicKey), signature)
    } catch {
      return false
    }
  },
  hkdf (secret) {
    return Buffer.from(crypto.hkdfSync('sha256', secret, EMPTY, HKDF_INFO, 64))
  }
}

const EMPTY = Buffer.alloc(0)

interface Sodium {
  crypto_scalarmult_base: (q: Uint8Array, n: Uint8Array) => void
  /** Throws when the result is all zeros (a low-order point). */
  crypto_scalarmult: (q: Uint8Array, n: Uint8Array, p: Uint8Array) => void
  crypto_sign_verify_detached: (sig: Uint8Array, m: Uint8Array, pk: Uint8Array) => boolean
  randombytes_buf: (b: Uint8Array) => void
  crypto_hash_sha256: (out: Uint8Array, m: Uint8Array) => void
}

/**
 * HKDF-SHA256 for 32-byte input keys over libsodium's SHA-256: six hashes into scratch buffers
 * (~5 µs against ~20 µs for crypto.hkdfSync, whose per-call setup dominates at this size).
 */
function sodiumHkdf (s: Sodium): (secret: Uint8Array) => Uint8Array {
  const BLOCK = 64
  const info = HKDF_INFO.length
  // HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)); K is 32 bytes, zero-padded to the block.
  const inner = Buffer.alloc(BLOCK + 32 + info + 1)
  const outer = Buffer.alloc(BLOCK + 32)
  const prk = Buffer.alloc(32)
  // `padded` is the start of `inner`: the key's pad block is written there, the message follows it.
  function hmac (out: Uint8Array, key: Uint8Array, padded: Uint8Array): void {
    for (let i = 0; i < 32; i++) { inner[i] = key[i]! ^ 0x36; outer[i] = key[i]! ^ 0x5c }
    inner.fill(0x36, 32, BLOCK)
    outer.fill(0x5c, 32, BLOCK)
    s.crypto_hash_sha256(outer.subarray(BLOCK), padded)
    s.crypto_hash_sha256(out, outer)
  }
  const zeros = new Uint8Array(32)
  return secret => {
    if (secret.length !== 32) throw new RangeError(`HKDF input must be 32 bytes, got ${secret.length}`)
    const okm = Buffer.allocUnsafe(64)
    // Extract: PRK = HMAC(salt = 32 zero bytes, secret).
    inner.set(secret, BLOCK)
    hmac(prk, zeros, inner.subarray(0, BLOCK + 32))
    // Expand: T1 = HMAC(PRK, info || 1); T2 = HMAC(PRK, T1 || info || 2).
    inner.set(HKDF_INFO, BLOCK)
    inner[BLOCK + info] = 1
    hmac(okm.subarray(0, 32), prk, inner.subarray(0, BLOCK + info + 1))
    inner.set(okm.subarray(0, 32), BLOCK)
    inner.set(HKDF_INFO, BLOCK + 32)
    inner[BLOCK + 32 + info] = 2
    hmac(okm.subarray(32), prk, inner.subarray(0, BLOCK + 32 + info + 1))
    return okm
  }
}

function sodiumBackend (s: Sodium): HandshakeCryptoBackend {
  return {
    name: 'sodium-native',
    hkdf: sodiumHkdf(s),
    ephemeralKeys (fixedPrivate) {
      const privateKey = new Uint8Array(32)
      if (fixedPrivate !== undefined) privateKey.set(fixedPrivate)
      else s.randombytes_buf(privateKey)
      // crypto_scalarmult* clamp the scalar as RFC 7748 says, like OpenSSL.
      const publicKey = Buffer.allocUnsafe(32)
      s.crypto_scalarmult_base(publicKey, privateKey)
      return { privateKey, publicKey }
    },
    x25519 (privateKey, peerPublic) {
      if (!(privateKey instanceof Uint8Array) || privateKey.length !== 32 || peerPublic.length !== 32) throw new LowOrderKeyError()
      const secret = Buffer.allocUnsafe(32)
      try {
        s.crypto_scalarmult(secret, privateKey, peerPublic)
      } catch {
        throw new LowOrderKeyError()
      }
      if (secret.every(b => b === 0)) throw new LowOrderKeyError()
      return secret
    },
    verifyEd25519 (publicKey, message, signature) {
      if (publicKey.length !== 32 || signature.length !== 64) return false
      try {
        return s.crypto_sign_verify_detached(signature, message, publicKey)
      } catch {
        return false
      }
    }
  }
}

function loadSodium (): HandshakeCryptoBackend | undefined {
  try {
    const backend = sodiumBackend(createRequire(import.meta.url)('sodium-native') as Sodium)
    crossCheck(backend)
    return backend
  } catch (err) {
    log('sodium-native unavailable for the handshake: %s', (err as Error).message)
    return undefined
  }
}

/** A DH both ways between the two backends, an HKDF and one signature; throws on any disagreement. */
function crossCheck (b: HandshakeCryptoBackend): void {
  const ours = b.ephemeralKeys()
  const theirs = nodeCrypto.ephemeralKeys()
  if (!Buffer.from(b.x25519(ours.privateKey, theirs.publicKey)).equals(nodeCrypto.x25519(theirs.privateKey, ours.publicKey))) {
    throw new Error('X25519 disagrees with node:crypto')
  }
  if (!Buffer.from(b.hkdf(theirs.publicKey)).equals(nodeCrypto.hkdf(theirs.publicKey))) throw new Error('HKDF disagrees with node:crypto')
  const ed = crypto.generateKeyPairSync('ed25519')
  const pub = Buffer.from(ed.publicKey.export({ format: 'jwk' }).x!, 'base64url')
  const sig = crypto.sign(null, pub, ed.privateKey)
  if (!b.verifyEd25519(pub, pub, sig)) throw new Error('ed25519 verify disagrees with node:crypto')
  sig[0]! ^= 1
  if (b.verifyEd25519(pub, pub, sig)) throw new Error('ed25519 verify accepts a bad signature')
}

const backends: Partial<Record<HandshakeCryptoName, HandshakeCryptoBackend>> = { 'node:crypto': nodeCrypto }
const sodium = loadSodium()
if (sodium !== undefined) backends['sodium-native'] = sodium

/** The available backends, fastest first. */
export function availableHandshakeCrypto (): HandshakeCryptoName[] {
  return (['sodium-native', 'node:crypto'] as const).filter(n => backends[n] !== undefined)
}

/** One backend by name (tests compare them); throws when it is not available. */
export function handshakeCryptoBackend (name: HandshakeCryptoName): HandshakeCryptoBackend {
  const b = backends[name]
  if (b === undefined) throw new Error(`handshake crypto ${name} is not available`)
  return b
}

function chooseDefault (): HandshakeCryptoBackend {
  const asked = process.env.SWITCHYARD_HANDSHAKE_CRYPTO
  if (asked === undefined || asked === '') return backends[availableHandshakeCrypto()[0]!]!
  const b = backends[(asked === 'node' ? 'node:crypto' : asked) as HandshakeCryptoName]
  if (b === undefined) throw new Error(`SWITCHYARD_HANDSHAKE_CRYPTO=${asked} but that implementation is not available; available: ${availableHandshakeCrypto().join(', ')}`)
  return b
}

const active = chooseDefault()
log('handshake X25519 and ed25519 verification on %s', active.name)

export async function handshakeCryptoStatus (): Promise<HandshakeCryptoStatus> {
  return { x25519: active.name, ed25519Verify: active.name }
}

export function ephemeralKeys (fixedPrivate?: Uint8Array): EphemeralKeys {
  return active.ephemeralKeys(fixedPrivate)
}

/** X25519; an all-zero result (a low-order peer point) is refused. */
export function x25519 (privateKey: unknown, peerPublic: Uint8Array): Uint8Array {
  return active.x25519(privateKey, peerPublic)
}

export function verifyEd25519 (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  return active.verifyEd25519(publicKey, message, signature)
}

/** HKDF-SHA256 of the shared secret; which half sends depends on whose ephemeral key sorts lower. */
export function deriveSecrets (dhSecret: Uint8Array, locIsLeast: boolean): { recvKey: Uint8Array, sendKey: Uint8Array } {
  const okm = active.hkdf(dhSecret)
  const a = okm.subarray(0, 32)
  const b = okm.subarray(32, 64)
  return locIsLeast ? { recvKey: a, sendKey: b } : { recvKey: b, sendKey: a }
}

export function compareBytes (a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b)
}

/** The first 8 bytes as hex, for logs. */
export function hexPrefix (b: Uint8Array): string {
  return Buffer.from(b.subarray(0, 8)).toString('hex')
}
