/**
 * The SecretConnection handshake (station-to-station over X25519, authenticated with ed25519),
 * byte-exact with CometBFT; the steps are numbered as in docs/protocol.md.
 */
import crypto from 'node:crypto'
import type { Duplex } from 'node:stream'
import createDebug from 'debug'
import {
  SwitchyardError, decodeAuthSigMessage, decodeBytesValue, encodeAuthSigMessage, encodeBytesValue, encodeDelimited
} from '@switchyard/wire'
import type { AeadName } from './aead.js'
import { DelimitedReader } from './delimited-reader.js'
import {
  AbortError, BadEphemeralKeyError, looksLikeHttp, BadSignatureError, HandshakeTimeoutError, LowOrderKeyError, StreamError,
  UnsupportedKeyTypeError
} from './errors.js'
import { Transcript } from './merlin.js'
import { SecretConnection } from './secret-connection.js'

const log = createDebug('switchyard:conn:handshake')

/** What the handshake needs of a node's identity: its ed25519 public key and a signer. */
export interface HandshakeIdentity {
  readonly publicKey: Uint8Array
  sign (message: Uint8Array): Uint8Array
}

export interface SecretHandshakeOptions {
  signal?: AbortSignal
  /** Milliseconds for the whole handshake (default 3000, what CometBFT peers give us). */
  timeout?: number
  aead?: AeadName
  /**
   * Bytes to send through the encrypted channel right after our AuthSigMessage, in the same frame
   * and socket write (the NodeInfo the upgrade sends next): one write and one frame fewer per
   * handshake. They leave before the peer's signature is checked, so they must not be secret.
   */
  followedBy?: Uint8Array
  /** For test vectors only: a fixed X25519 ephemeral private key instead of a fresh one. */
  ephemeralPrivateKey?: Uint8Array
  /** Told when each stage starts, so a caller can say where a failure happened. */
  onStage?: (stage: 'key-exchange' | 'authentication') => void
}

const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex')

// Raw public keys are imported as JWK: OpenSSL 3 decodes a JWK about 10× faster than SPKI DER
// (~100 k/s against ~10 k/s here), which is most of a handshake's cost otherwise.
function publicKeyObject (crv: 'X25519' | 'Ed25519', raw: Uint8Array): crypto.KeyObject {
  return crypto.createPublicKey({ key: { kty: 'OKP', crv, x: Buffer.from(raw).toString('base64url') }, format: 'jwk' })
}

const TRANSCRIPT_LABEL = 'TENDERMINT_SECRET_CONNECTION_TRANSCRIPT_HASH'
const HKDF_INFO = 'TENDERMINT_SECRET_CONNECTION_KEY_AND_CHALLENGE_GEN'
/** Our cap on the ephemeral key message (CometBFT allows 1 MiB; a BytesValue of 32 bytes is 34). */
const MAX_EPHEMERAL_MSG = 1024
/** Our cap on AuthSigMessage (103 bytes for ed25519; room for the larger key types of v1.x). */
const MAX_AUTH_SIG_MSG = 4096

export interface EphemeralKeys { privateKey: crypto.KeyObject, publicKey: Uint8Array }

export function ephemeralKeys (fixedPrivate?: Uint8Array): EphemeralKeys {
  if (fixedPrivate !== undefined) {
    const privateKey = crypto.createPrivateKey({ key: Buffer.concat([X25519_PKCS8, fixedPrivate]), format: 'der', type: 'pkcs8' })
    return { privateKey, publicKey: Buffer.from(crypto.createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url') }
  }
  const pair = crypto.generateKeyPairSync('x25519')
  return { privateKey: pair.privateKey, publicKey: Buffer.from(pair.publicKey.export({ format: 'jwk' }).x!, 'base64url') }
}

/** X25519; an all-zero result (a low-order peer point) is refused. */
export function x25519 (privateKey: crypto.KeyObject, peerPublic: Uint8Array): Uint8Array {
  let secret: Buffer
  try {
    secret = crypto.diffieHellman({ privateKey, publicKey: publicKeyObject('X25519', peerPublic) })
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

/** Runs `work` with a deadline and an AbortSignal; on failure the stream is destroyed. */
export async function withDeadline<T> (
  stream: Duplex, timeoutMs: number, signal: AbortSignal | undefined, stage: () => string,
  work: () => Promise<T>
): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined
  const cancelled = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new HandshakeTimeoutError(timeoutMs, stage())), timeoutMs)
    onAbort = () => reject(new AbortError(`handshake aborted during ${stage()}`, { cause: signal?.reason }))
    if (signal?.aborted === true) onAbort()
    else signal?.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([work(), cancelled])
  } catch (err) {
    stream.destroy()
    throw err instanceof SwitchyardError ? err : new StreamError(err)
  } finally {
    clearTimeout(timer)
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
  }
}

function compareBytes (a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b)
}

/**
 * Turns a connected byte stream into an authenticated SecretConnection. Both sides run the same
 * steps at once; neither waits for the other before writing. On any failure the stream is
 * destroyed and a typed error (with a `code`) is thrown.
 */
export async function secretHandshake (
  stream: Duplex, identity: HandshakeIdentity, options: SecretHandshakeOptions = {}
): Promise<SecretConnection> {
  const timeout = options.timeout ?? 3000
  let stage = 'the ephemeral key exchange'
  let secret: SecretConnection | undefined
  try {
    options.onStage?.('key-exchange')
    return await withDeadline(stream, timeout, options.signal, () => stage, async () => {
      // 1–2. Fresh X25519 keys; send ours and read theirs concurrently.
      const eph = ephemeralKeys(options.ephemeralPrivateKey)
      const reader = new DelimitedReader(stream)
      stream.write(encodeDelimited(encodeBytesValue(eph.publicKey)))
      let theirEph: Uint8Array
      try {
        theirEph = decodeBytesValue(await reader.read(MAX_EPHEMERAL_MSG, 'ephemeral key message'))
      } catch (err) {
        // Only what the decoder found is the key message's fault; a stream's own typed error
        // (e.g. a WebSocket transport's) passes through as it is.
        if (err instanceof SwitchyardError && (err.code === 'ERR_MALFORMED_MESSAGE' || err.code === 'ERR_MESSAGE_TOO_LARGE')) {
          throw new BadEphemeralKeyError(`the peer's ephemeral key message is malformed: ${err.message}`, { cause: err, received: reader.firstBytes })
        }
        // A short HTTP error page ends before it fills a "message": still say what it was.
        if (looksLikeHttp(reader.firstBytes)) throw new BadEphemeralKeyError('the peer sent no key message and closed the connection', { cause: err, received: reader.firstBytes })
        throw err
      }
      // CometBFT copies whatever length arrives into 32 bytes; we require exactly 32.
      if (theirEph.length !== 32) throw new BadEphemeralKeyError(`the peer's ephemeral key is ${theirEph.length} bytes, not 32`, { received: reader.firstBytes })
      reader.release()

      // 3–5. Order the keys, compute the shared secret, start the transcript.
      const locIsLeast = compareBytes(eph.publicKey, theirEph) < 0
      const [lo, hi] = locIsLeast ? [eph.publicKey, theirEph] : [theirEph, eph.publicKey]
      const transcript = new Transcript(TRANSCRIPT_LABEL)
      transcript.appendMessage('EPHEMERAL_LOWER_PUBLIC_KEY', lo)
      transcript.appendMessage('EPHEMERAL_UPPER_PUBLIC_KEY', hi)
      const dh = x25519(eph.privateKey, theirEph)
      transcript.appendMessage('DH_SECRET', dh)

      // 6–8. Session keys and the challenge we both sign.
      const { recvKey, sendKey } = deriveSecrets(dh, locIsLeast)
      const challenge = transcript.challengeBytes('SECRET_CONNECTION_MAC', 32)
      const aeadOpt = options.aead !== undefined ? { aead: options.aead } : {}
      secret = new SecretConnection(stream, { sendKey, recvKey, ...aeadOpt })
      const signature = identity.sign(challenge)

      // 9–10. Exchange AuthSigMessages inside the encrypted channel, concurrently, and check theirs.
      stage = 'authentication'
      options.onStage?.('authentication')
      const authReader = new DelimitedReader(secret)
      const authSig = encodeDelimited(encodeAuthSigMessage(identity.publicKey, signature))
      secret.write(options.followedBy !== undefined ? Buffer.concat([authSig, options.followedBy]) : authSig)
      const auth = decodeAuthSigMessage(await authReader.read(MAX_AUTH_SIG_MSG, 'AuthSigMessage'))
      authReader.release()
      if (auth.keyType !== 'ed25519') throw new UnsupportedKeyTypeError(auth.keyType)
      if (auth.pubKey.length !== 32) throw new BadSignatureError(`the peer's ed25519 key is ${auth.pubKey.length} bytes, not 32`)
      if (!verifyEd25519(auth.pubKey, challenge, auth.sig)) throw new BadSignatureError()
      secret.remotePublicKey = Uint8Array.from(auth.pubKey)
      log('authenticated peer key %s (%s)', Buffer.from(auth.pubKey).toString('hex').slice(0, 16), secret.aead)
      return secret
    })
  } catch (err) {
    secret?.destroy()
    throw err
  }
}
