/**
 * The ed25519 and SHA-256 a NodeKey needs, on node:crypto (OpenSSL). A browser build replaces
 * this module with one of the same exports (packages/browser).
 */
import crypto from 'node:crypto'

const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex')

/** An ed25519 signer made from a 32-byte seed. */
export interface Ed25519Signer {
  readonly publicKey: Uint8Array
  sign (message: Uint8Array): Uint8Array
}

export function ed25519FromSeed (seed: Uint8Array): Ed25519Signer {
  const privateKey = crypto.createPrivateKey({ key: Buffer.concat([ED25519_PKCS8, seed]), format: 'der', type: 'pkcs8' })
  const publicKey = Buffer.from(crypto.createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url')
  return { publicKey, sign: message => crypto.sign(null, message, privateKey) }
}

/**
 * A fresh key: OpenSSL makes the pair and hands both halves out as JWK (~0.2 ms; importing a
 * seed through PKCS#8 DER takes 1.2–2.7 ms here).
 */
export function generateEd25519 (): { seed: Uint8Array, signer: Ed25519Signer } {
  const pair = crypto.generateKeyPairSync('ed25519')
  const jwk = pair.privateKey.export({ format: 'jwk' })
  const privateKey = pair.privateKey
  return {
    seed: Buffer.from(jwk.d!, 'base64url'),
    signer: { publicKey: Buffer.from(jwk.x!, 'base64url'), sign: message => crypto.sign(null, message, privateKey) }
  }
}

export function sha256 (data: Uint8Array): Uint8Array {
  return crypto.createHash('sha256').update(data).digest()
}

export function randomSeed (): Uint8Array {
  return crypto.randomBytes(32)
}
