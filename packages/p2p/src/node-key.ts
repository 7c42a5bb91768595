/**
 * Node identity: an ed25519 key, its node ID (hex of the first 20 bytes of SHA-256 of the public
 * key) and CometBFT's node_key.json (64 bytes = seed ‖ public key, base64, mode 0600).
 */
import crypto from 'node:crypto'
import { promises as fs } from 'node:fs'
import { dirname } from 'node:path'
import type { HandshakeIdentity } from '@switchyard/conn'
import { createFileAtomic } from './atomic-file.js'
import { NodeKeyFileError } from './errors.js'

const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex')
export const NODE_KEY_TYPE = 'tendermint/PrivKeyEd25519'

/** Lowercase hex of SHA-256(public key)[0:20]: 40 characters. */
export function nodeIdFromPublicKey (publicKey: Uint8Array): string {
  return crypto.createHash('sha256').update(publicKey).digest().subarray(0, 20).toString('hex')
}

/** CometBFT's rule for IDs in config: any 40-character hex string (uppercase is accepted there too). */
export function isValidNodeId (id: string): boolean {
  return /^[0-9a-fA-F]{40}$/.test(id)
}

export class NodeKey implements HandshakeIdentity {
  readonly publicKey: Uint8Array
  readonly id: string
  private readonly seed: Uint8Array
  private readonly privateKey: crypto.KeyObject

  private constructor (seed: Uint8Array, generated?: { privateKey: crypto.KeyObject, publicKey: Uint8Array }) {
    this.seed = Uint8Array.from(seed)
    if (generated !== undefined) {
      this.privateKey = generated.privateKey
      this.publicKey = generated.publicKey
    } else {
      this.privateKey = crypto.createPrivateKey({ key: Buffer.concat([ED25519_PKCS8, seed]), format: 'der', type: 'pkcs8' })
      this.publicKey = Buffer.from(crypto.createPublicKey(this.privateKey).export({ format: 'jwk' }).x!, 'base64url')
    }
    this.id = nodeIdFromPublicKey(this.publicKey)
  }

  /**
   * A fresh key. OpenSSL makes the pair and hands both halves out as JWK: ~0.2 ms, where importing
   * a seed through PKCS#8 DER takes 1.2–2.7 ms here (it matters to tools that make many keys).
   */
  static generate (): NodeKey {
    const pair = crypto.generateKeyPairSync('ed25519')
    const jwk = pair.privateKey.export({ format: 'jwk' })
    return new NodeKey(Buffer.from(jwk.d!, 'base64url'), { privateKey: pair.privateKey, publicKey: Buffer.from(jwk.x!, 'base64url') })
  }

  /** From a 32-byte RFC 8032 seed. */
  static fromSeed (seed: Uint8Array): NodeKey {
    if (seed.length !== 32) throw new RangeError(`an ed25519 seed is 32 bytes, got ${seed.length}`)
    return new NodeKey(seed)
  }

  sign (message: Uint8Array): Uint8Array {
    return crypto.sign(null, message, this.privateKey)
  }

  /** The node_key.json document. */
  toJSON (): { priv_key: { type: string, value: string } } {
    return { priv_key: { type: NODE_KEY_TYPE, value: Buffer.concat([this.seed, this.publicKey]).toString('base64') } }
  }

  /** Parses node_key.json text; `path` is only used in error messages. */
  static fromJSON (text: string, path = 'node_key.json'): NodeKey {
    let doc: unknown
    try {
      doc = JSON.parse(text)
    } catch (err) {
      throw new NodeKeyFileError(path, `not valid JSON (${(err as Error).message})`, { cause: err })
    }
    const pk = (doc as { priv_key?: { type?: unknown, value?: unknown } } | null)?.priv_key
    if (pk == null || typeof pk !== 'object') throw new NodeKeyFileError(path, 'missing "priv_key"')
    if (pk.type !== NODE_KEY_TYPE) throw new NodeKeyFileError(path, `priv_key.type is ${JSON.stringify(pk.type)}, expected ${JSON.stringify(NODE_KEY_TYPE)}`)
    if (typeof pk.value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(pk.value)) throw new NodeKeyFileError(path, 'priv_key.value is not base64')
    const bytes = Buffer.from(pk.value, 'base64')
    if (bytes.length !== 64) throw new NodeKeyFileError(path, `priv_key.value holds ${bytes.length} bytes, expected 64 (seed and public key)`)
    const key = new NodeKey(bytes.subarray(0, 32))
    if (!Buffer.from(key.publicKey).equals(bytes.subarray(32))) throw new NodeKeyFileError(path, 'the public key in priv_key.value does not match its seed')
    return key
  }
}

/** Reads node_key.json; a malformed file is refused with NodeKeyFileError and left untouched. */
export async function loadNodeKey (path: string): Promise<NodeKey> {
  let text: string
  try {
    text = await fs.readFile(path, 'utf8')
  } catch (err) {
    throw new NodeKeyFileError(path, `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err })
  }
  return NodeKey.fromJSON(text, path)
}

/** Writes node_key.json with mode 0600; never overwrites an existing file (FileExistsError). */
export async function saveNodeKey (path: string, key: NodeKey): Promise<void> {
  await fs.mkdir(dirname(path), { recursive: true })
  await createFileAtomic(path, JSON.stringify(key.toJSON()), 0o600)
}

/** Loads the key at `path`, or creates one there if the file does not exist. */
export async function loadOrCreateNodeKey (path: string): Promise<NodeKey> {
  try {
    await fs.access(path)
  } catch {
    const key = NodeKey.generate()
    try {
      await saveNodeKey(path, key)
      return key
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_FILE_EXISTS') throw err
    }
  }
  return await loadNodeKey(path)
}
