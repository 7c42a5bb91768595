/**
 * node:crypto in a browser bundle, for the one call left outside the swapped crypto modules:
 * atomic-file's temp-file names (randomBytes). The rest goes through handshake-crypto,
 * node-key-crypto and aead, whose browser builds use @noble and WebCrypto.
 */
import { Buffer } from 'buffer'

export function randomBytes (n: number): Buffer {
  return Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(n)))
}

export default { randomBytes }
