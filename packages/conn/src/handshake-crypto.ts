/**
 * The handshake's cryptography on node:crypto (OpenSSL): X25519, HKDF-SHA256, ed25519 verify.
 * A browser build replaces this module with one of the same exports (packages/browser).
 */
import crypto from 'node:crypto'
import createDebug from 'debug'
import { LowOrderKeyError } from './errors.js'

const log = createDebug('switchyard:conn:handshake')

const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex')
const HKDF_INFO = 'TENDERMINT_SECRET_CONNECTION_KEY_AND_CHALLENGE_GEN'

// Raw public keys are imported as JWK: OpenSSL 3 decodes a JWK about 10× faster than SPKI DER
// (~100 k/s against ~10 k/s here), which is most of a handshake's cost otherwise.
function publicKeyObject (crv: 'X25519' | 'Ed25519', raw: Uint8Array): crypto.KeyObject {
  return crypto.createPublicKey({ key: { kty: 'OKP', crv, x: Buffer.from(raw).toString('base64url') }, format: 'jwk' })
}

/** Which implementation the handshake uses for X25519 and for ed25519 verification. */
export interface HandshakeCryptoStatus { x25519: 'node:crypto' | 'webcrypto' | '@noble/curves', ed25519Verify: 'node:crypto' | 'webcrypto' | '@noble/curves' }

/** On Node, always OpenSSL (the browser build answers 'webcrypto' or '@noble/curves'). */
export async function handshakeCryptoStatus (): Promise<HandshakeCryptoStatus> {
  return { x25519: 'node:crypto', ed25519Verify: 'node:crypto' }
}

/** An ephemeral X25519 pair; the private key is opaque (a KeyObject here, raw bytes in a browser). */
export interface EphemeralKeys { privateKey: unknown, publicKey: Uint8Array }

export function ephemeralKeys (fixedPrivate?: Uint8Array): EphemeralKeys {
  if (fixedPrivate !== undefined) {
    const privateKey = crypto.createPrivateKey({ key: Buffer.concat([X25519_PKCS8, fixedPrivate]), format: 'der', type: 'pkcs8' })
    return { privateKey, publicKey: Buffer.from(crypto.createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url') }
  }
  const pair = crypto.generateKeyPairSync('x25519')
  return { privateKey: pair.privateKey, publicKey: Buffer.from(pair.publicKey.export({ format: 'jwk' }).x!, 'base64url') }
}

/** X25519; an all-zero result (a low-order peer point) is refused. */
export function x25519 (privateKey: unknown, peerPublic: Uint8Array): Uint8Array {
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
}

/** HKDF-SHA256 of the shared secret; which half sends depends on whose ephemeral key sorts lower. */
export function deriveSecrets (dhSecret: Uint8Array, locIsLeast: boolean): { recvKey: Uint8Array, sendKey: Uint8Array } {
  const okm = Buffer.from(crypto.hkdfSync('sha256', dhSecret, Buffer.alloc(0), HKDF_INFO, 64))
  const a = okm.subarray(0, 32)
  const b = okm.subarray(32, 64)
  return locIsLeast ? { recvKey: a, sendKey: b } : { recvKey: b, sendKey: a }
}

export function verifyEd25519 (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false
  try {
    return crypto.verify(null, message, publicKeyObject('Ed25519', publicKey), signature)
  } catch {
    return false
  }
}

export function compareBytes (a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b)
}

/** The first 8 bytes as hex, for logs. */
export function hexPrefix (b: Uint8Array): string {
  return Buffer.from(b.subarray(0, 8)).toString('hex')
}
