/**
 * The ed25519 and SHA-256 a NodeKey needs. Signing (once per handshake) uses libsodium through the
 * optional sodium-native when it loads and agrees with OpenSSL (~26 µs a signature against ~50 µs
 * through node:crypto here); otherwise node:crypto. Ed25519 signatures are deterministic, so both
 * give the same bytes. SWITCHYARD_HANDSHAKE_CRYPTO=node:crypto keeps everything on node:crypto.
 * A browser build replaces this module with one of the same exports (packages/browser).
 */
import crypto from 'node:crypto'
import { createRequire } from 'node:module'

const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex')

/** An ed25519 signer made from a 32-byte seed. */
export interface Ed25519Signer {
  readonly publicKey: Uint8Array
  sign (message: Uint8Array): Uint8Array
}

interface Sodium {
  crypto_sign_seed_keypair: (pk: Uint8Array, sk: Uint8Array, seed: Uint8Array) => void
  crypto_sign_detached: (sig: Uint8Array, m: Uint8Array, sk: Uint8Array) => void
  crypto_hash_sha256: (out: Uint8Array, m: Uint8Array) => void
}

function nodeSigner (privateKey: crypto.KeyObject, publicKey: Uint8Array): Ed25519Signer {
  return { publicKey, sign: message => crypto.sign(null, message, privateKey) }
}

function sodiumSigner (s: Sodium, seed: Uint8Array): Ed25519Signer {
  const publicKey = Buffer.alloc(32)
  const secretKey = Buffer.alloc(64)
  s.crypto_sign_seed_keypair(publicKey, secretKey, seed)
  return {
    publicKey,
    sign: message => {
      const sig = Buffer.allocUnsafe(64)
      s.crypto_sign_detached(sig, message, secretKey)
      return sig
    }
  }
}

/** sodium-native if it loads and signs exactly as OpenSSL does; undefined otherwise. */
function loadSodium (): Sodium | undefined {
  if (process.env.SWITCHYARD_HANDSHAKE_CRYPTO === 'node:crypto' || process.env.SWITCHYARD_HANDSHAKE_CRYPTO === 'node') return undefined
  try {
    const s = createRequire(import.meta.url)('sodium-native') as Sodium
    const seed = crypto.createHash('sha256').update('switchyard node-key self test').digest()
    const viaSodium = sodiumSigner(s, seed)
    const viaNode = nodeSignerFromSeed(seed)
    const msg = Buffer.from('self test')
    if (!Buffer.from(viaSodium.publicKey).equals(viaNode.publicKey) || !Buffer.from(viaSodium.sign(msg)).equals(viaNode.sign(msg))) return undefined
    return s
  } catch {
    return undefined
  }
}

function nodeSignerFromSeed (seed: Uint8Array): Ed25519Signer {
  const privateKey = crypto.createPrivateKey({ key: Buffer.concat([ED25519_PKCS8, seed]), format: 'der', type: 'pkcs8' })
  return nodeSigner(privateKey, Buffer.from(crypto.createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url'))
}

const sodium = loadSodium()

/** Which library signs: 'sodium-native' or 'node:crypto'. */
export const ed25519Signing: 'sodium-native' | 'node:crypto' = sodium !== undefined ? 'sodium-native' : 'node:crypto'

export function ed25519FromSeed (seed: Uint8Array): Ed25519Signer {
  return sodium !== undefined ? sodiumSigner(sodium, seed) : nodeSignerFromSeed(seed)
}

/**
 * A fresh key: OpenSSL makes the pair and hands both halves out as JWK (~0.2 ms; importing a
 * seed through PKCS#8 DER takes 1.2–2.7 ms here). libsodium derives from a random seed directly.
 */
export function generateEd25519 (): { seed: Uint8Array, signer: Ed25519Signer } {
  if (sodium !== undefined) {
    const seed = crypto.randomBytes(32)
    return { seed, signer: sodiumSigner(sodium, seed) }
  }
  const pair = crypto.generateKeyPairSync('ed25519')
  const jwk = pair.privateKey.export({ format: 'jwk' })
  return { seed: Buffer.from(jwk.d!, 'base64url'), signer: nodeSigner(pair.privateKey, Buffer.from(jwk.x!, 'base64url')) }
}

export function sha256 (data: Uint8Array): Uint8Array {
  if (sodium !== undefined) {
    const out = Buffer.allocUnsafe(32)
    sodium.crypto_hash_sha256(out, data)
    return out
  }
  return crypto.createHash('sha256').update(data).digest()
}

export function randomSeed (): Uint8Array {
  return crypto.randomBytes(32)
}
