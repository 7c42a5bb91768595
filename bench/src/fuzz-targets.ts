/**
 * One fuzz target per decoder of untrusted input. Each takes bytes and must return normally or
 * throw a SwitchyardError (a typed error with a code); anything else — another exception, a hang,
 * runaway memory — is a bug. Used by the bounded property tests in CI and by `pnpm fuzz`.
 *
 * Each run also names its outcome (a reject reason or error code, or 'ok'), and each target says
 * which outcomes are "deep": past the first gate (a MAC, a signature, the outer decode) into the
 * checks behind it. Random bytes never pass a MAC or a signature, so the targets for sealed frames
 * and signed LAN announcements build authentic inputs — sealed or signed with a known key after
 * mutation — and the runner reports how many inputs reached the deep checks.
 */
import { createCipheriv } from 'node:crypto'
import { PassThrough } from 'node:stream'
import { SecretConnection } from '@switchyard/conn'
import { decodeAnnouncement, encodeAnnouncement } from '@switchyard/discovery-lan'
import { NodeKey, validateNodeInfo } from '@switchyard/p2p'
import { AddrBook } from '@switchyard/pex'
import { applyToml, defaultConfig } from '@switchyard/cli'
import {
  LengthDelimitedDecoder, SwitchyardError, decodeAuthSigMessage, decodeBytesValue, decodeNodeInfo, decodePacket,
  decodePexMessage, encodeDelimited, encodeDelimitedPacketMsg, encodeNodeInfo, encodePexMessage, protoTypes
} from '@switchyard/wire'

export interface FuzzTarget {
  name: string
  /** Valid inputs to mutate from. */
  seeds: Uint8Array[]
  /** Runs one input; returns its outcome ('ok' or a reject reason) or throws. */
  run: (input: Uint8Array) => string
  /** Whether an outcome (a return value, or a thrown error's code) got past the first gate. */
  deep: (outcome: string) => boolean
}

/** For plain decoders the gate is the decode itself: anything it accepted went on to the checks. */
const decoded = (outcome: string): boolean => outcome === 'ok'

const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8')
const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8')

const nodeInfoSeed = encodeNodeInfo({
  protocolVersion: { p2p: 8, block: 11, app: 0 }, nodeId: '0ec237d5ed7f36eba9a43ad23957ada43db720d1',
  listenAddr: 'tcp://127.0.0.1:26656', network: 'chain', version: '0.38.0', channels: Uint8Array.of(0x40, 0x20, 0x00),
  moniker: 'node', other: { txIndex: 'off', rpcAddress: '' }
})

const frameKey = new Uint8Array(32).fill(3)
const FRAME = 1028

/** Seals plaintext frames the way a peer holding frameKey would (ChaCha20-Poly1305, counter nonces from 0). */
function sealFrames (plain: Uint8Array): Uint8Array {
  const out: Buffer[] = []
  for (let i = 0, n = 0; i < plain.length; i += FRAME, n++) {
    const frame = Buffer.alloc(FRAME)
    frame.set(plain.subarray(i, i + FRAME))
    const nonce = Buffer.alloc(12)
    nonce.writeBigUInt64LE(BigInt(n), 4)
    const c = createCipheriv('chacha20-poly1305', frameKey, nonce, { authTagLength: 16 })
    out.push(c.update(frame), c.final(), c.getAuthTag())
  }
  return Buffer.concat(out)
}

/** One plaintext frame: LE32 length, then the data (padded to 1028 when sealed). */
function plainFrame (data: Uint8Array): Uint8Array {
  const f = Buffer.alloc(4 + data.length)
  f.writeUInt32LE(data.length)
  f.set(data, 4)
  return f
}

/** Feeds bytes to a SecretConnection keyed with frameKey; the outcome is its error code, or what it did. */
function openFrames (sealed: Uint8Array): string {
  const socket = new PassThrough()
  const conn = new SecretConnection(socket, { sendKey: frameKey, recvKey: frameKey })
  conn.on('error', () => {})
  socket.emit('data', Buffer.from(sealed)) // paused mode: what was opened waits in readableLength
  const delivered = conn.readableLength
  // destroy(err) records the error at once (`errored`); the 'error' event only follows a tick later.
  const err = conn.errored
  conn.destroy()
  if (err !== null && err !== undefined) {
    if (!(err instanceof SwitchyardError)) throw err
    return err.code
  }
  return sealed.length < 1044 ? 'incomplete' : delivered > 0 ? 'ok' : 'opened-empty'
}

const lanKey = NodeKey.fromSeed(new Uint8Array(32).fill(11))
const lanSeed = encodeAnnouncement(lanKey, { network: 'chain', port: 26656, p2pVersion: 8, blockVersion: 11, timestampMs: 1_763_900_000_000, query: false })
const lanBody = (protoTypes.SignedLanAnnouncement.decode(lanSeed) as unknown as { body: Uint8Array }).body

/** Signs a (mutated) LanAnnouncement body with lanKey, as a node holding that key would. */
function signLanBody (body: Uint8Array): Uint8Array {
  const signature = lanKey.sign(Buffer.concat([Buffer.from('switchyard-lan-v1'), body]))
  return protoTypes.SignedLanAnnouncement.encode({ body, signature }).finish()
}

const announce = (datagram: Uint8Array): string => {
  const r = decodeAnnouncement(datagram)
  return typeof r === 'string' ? r : 'ok'
}
/** Past the outer decode and the shape checks (key and signature sizes): the key/ID, port and signature checks ran. */
const pastSignature = (o: string): boolean => o !== 'malformed'

export const targets: FuzzTarget[] = [
  {
    name: 'length-delimited',
    seeds: [encodeDelimited(utf8('hello')), Buffer.concat([encodeDelimited(new Uint8Array(300)), encodeDelimited(new Uint8Array(0))])],
    run: input => { let n = 0; new LengthDelimitedDecoder(1024).push(input, () => { n++ }); return n > 0 ? 'ok' : 'no-message' },
    deep: decoded
  },
  {
    name: 'packet',
    seeds: [encodeDelimitedPacketMsg(0x20, true, utf8('data')).subarray(1), Uint8Array.of(0x0a, 0x00), Uint8Array.of(0x12, 0x00)],
    run: input => { decodePacket(input); return 'ok' },
    deep: decoded
  },
  {
    // Frames sealed with the key, as a peer would send them, then mutated as ciphertext: most
    // mutations must fail the MAC (ERR_FRAME_AUTH); whole frames that survive are opened.
    name: 'secret-frames',
    seeds: [
      sealFrames(plainFrame(utf8('hello'))),
      sealFrames(Buffer.concat([plainFrame(new Uint8Array(1024).fill(1)), plainFrame(new Uint8Array(300).fill(2))]))
    ],
    run: openFrames,
    deep: o => o === 'ok' || o === 'opened-empty' || o === 'ERR_FRAME_TOO_LONG'
  },
  {
    // Plaintext frames mutated, then sealed with the key: every frame passes the MAC, so the
    // length field and the data behind it are what is fuzzed.
    name: 'secret-frames-opened',
    seeds: [plainFrame(utf8('hello')), Buffer.concat([plainFrame(new Uint8Array(1024).fill(1)).subarray(0, FRAME), plainFrame(new Uint8Array(10).fill(2))])],
    run: input => openFrames(sealFrames(input.length === 0 ? new Uint8Array(1) : input)),
    deep: o => o === 'ok' || o === 'opened-empty' || o === 'ERR_FRAME_TOO_LONG'
  },
  {
    name: 'handshake-messages',
    seeds: [Buffer.concat([Buffer.from('0a20', 'hex'), new Uint8Array(32)]), Buffer.concat([Buffer.from('0a220a20', 'hex'), new Uint8Array(32), Buffer.from('1240', 'hex'), new Uint8Array(64)])],
    run: input => {
      // The two handshake messages: 'ok' when either decoder accepts the bytes.
      let keyMessage = true
      try { decodeBytesValue(input) } catch (e) { if (!(e instanceof SwitchyardError)) throw e; keyMessage = false }
      try { decodeAuthSigMessage(input) } catch (e) { if (!keyMessage || !(e instanceof SwitchyardError)) throw e }
      return 'ok'
    },
    deep: decoded
  },
  {
    name: 'node-info',
    seeds: [nodeInfoSeed],
    run: input => {
      let info
      try { info = decodeNodeInfo(input) } catch (e) { if (e instanceof SwitchyardError) return 'undecodable'; throw e }
      validateNodeInfo(info) // a typed throw here is deep: the validation rules ran
      return 'ok'
    },
    deep: o => o !== 'undecodable'
  },
  {
    name: 'pex',
    seeds: [encodePexMessage({ type: 'request' }), encodePexMessage({ type: 'addrs', addrs: [{ id: 'ab'.repeat(20), ip: '1.2.3.4', port: 26656 }] })],
    run: input => { decodePexMessage(input); return 'ok' },
    deep: decoded
  },
  {
    name: 'addrbook-json',
    seeds: [utf8(JSON.stringify({ key: 'abcd', addrs: [{ addr: { id: 'ab'.repeat(20), ip: '8.8.8.8', port: 1 }, src: { id: 'ab'.repeat(20), ip: '8.8.8.8', port: 1 }, buckets: [1], attempts: 0, bucket_type: 1, last_attempt: '2026-01-01T00:00:00Z', last_success: '0001-01-01T00:00:00Z', last_ban_time: '0001-01-01T00:00:00Z' }] }))],
    run: input => { AddrBook.fromText(text(input)); return 'ok' },
    deep: decoded
  },
  {
    name: 'node-key-json',
    // Compact as written, and indented (mutations in whitespace keep it valid, so the key checks run).
    seeds: [utf8(JSON.stringify(NodeKey.fromSeed(new Uint8Array(32).fill(7)).toJSON())), utf8(JSON.stringify(NodeKey.fromSeed(new Uint8Array(32).fill(7)).toJSON(), null, 8))],
    run: input => { NodeKey.fromJSON(text(input)); return 'ok' },
    deep: decoded
  },
  {
    name: 'config-toml',
    seeds: [utf8('moniker = "x"\n[p2p]\nladdr = "tcp://0.0.0.0:26656"\nseeds = "a@b:1"\nmax_num_inbound_peers = 40\ndial_timeout = "3s"\npex = true\n[instrumentation]\nprometheus = false\n')],
    run: input => { applyToml(defaultConfig('/nonexistent'), text(input), 'config.toml'); return 'ok' },
    deep: decoded
  },
  {
    // Whole datagrams, from a signed announcement: mutations mostly break the signature.
    name: 'lan-announcement',
    seeds: [lanSeed, new Uint8Array(0)],
    run: announce,
    deep: pastSignature
  },
  {
    // The body mutated, then signed with the key: the signature holds, so every check runs on
    // bodies that could be genuine, and the full path to an accepted announcement is reached.
    name: 'lan-announcement-signed',
    seeds: [lanBody],
    run: input => announce(signLanBody(input)),
    deep: pastSignature
  }
]

/** A small deterministic PRNG, so any failure reproduces from its seed. */
export function rng (seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 0x100000000 }
}

/** Random bytes, or a mutation (bit flips, truncation, insertion, splice) of a seed. */
export function mutate (seeds: Uint8Array[], r: () => number): Uint8Array {
  if (seeds.length === 0 || r() < 0.2) {
    const b = new Uint8Array(Math.floor(r() * r() * 2048))
    for (let i = 0; i < b.length; i++) b[i] = Math.floor(r() * 256)
    return b
  }
  let b = Uint8Array.from(seeds[Math.floor(r() * seeds.length)]!)
  const n = 1 + Math.floor(r() * 4)
  for (let k = 0; k < n; k++) {
    const op = Math.floor(r() * 4)
    const at = Math.floor(r() * (b.length + 1))
    if (op === 0 && b.length > 0) b[Math.min(at, b.length - 1)]! ^= 1 << Math.floor(r() * 8)
    else if (op === 1) b = b.subarray(0, at)
    else if (op === 2) b = Uint8Array.from([...b.subarray(0, at), Math.floor(r() * 256), ...b.subarray(at)])
    else if (b.length > 0) b[Math.min(at, b.length - 1)] = [0x00, 0xff, 0x80, 0x7f, 0x22, 0x0a][Math.floor(r() * 6)]!
  }
  return b
}

export interface CheckResult {
  /** What went wrong (an untyped throw), or undefined. */
  problem?: string
  /** The outcome: the run's return value, or the typed error's code. */
  outcome: string
  deep: boolean
}

/** Runs one input: its outcome, whether it reached the deep checks, and any problem. */
export function check (t: FuzzTarget, input: Uint8Array): CheckResult {
  let outcome: string
  try {
    outcome = t.run(input)
  } catch (err) {
    if (!(err instanceof SwitchyardError)) return { problem: `${(err as Error)?.name ?? 'throw'}: ${(err as Error)?.message ?? String(err)}`, outcome: 'crash', deep: false }
    outcome = err.code
  }
  return { outcome, deep: t.deep(outcome) }
}
