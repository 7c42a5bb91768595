/**
 * One fuzz target per decoder of untrusted input. Each takes bytes and must return normally or
 * throw a SwitchyardError (a typed error with a code); anything else — another exception, a hang,
 * runaway memory — is a bug. Used by the bounded property tests in CI and by `pnpm fuzz`.
 */
import { PassThrough } from 'node:stream'
import { SecretConnection } from '@switchyard/conn'
import { decodeAnnouncement } from '@switchyard/discovery-lan'
import { NodeKey, validateNodeInfo } from '@switchyard/p2p'
import { AddrBook } from '@switchyard/pex'
import { applyToml, defaultConfig } from '@switchyard/cli'
import {
  LengthDelimitedDecoder, SwitchyardError, decodeAuthSigMessage, decodeBytesValue, decodeNodeInfo, decodePacket,
  decodePexMessage, encodeDelimited, encodeDelimitedPacketMsg, encodeNodeInfo, encodePexMessage
} from '@switchyard/wire'

export interface FuzzTarget {
  name: string
  /** Valid inputs to mutate from. */
  seeds: Uint8Array[]
  run: (input: Uint8Array) => void
}

const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8')
const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8')

const nodeInfoSeed = encodeNodeInfo({
  protocolVersion: { p2p: 8, block: 11, app: 0 }, nodeId: '0ec237d5ed7f36eba9a43ad23957ada43db720d1',
  listenAddr: 'tcp://127.0.0.1:26656', network: 'chain', version: '0.38.0', channels: Uint8Array.of(0x40, 0x20, 0x00),
  moniker: 'node', other: { txIndex: 'off', rpcAddress: '' }
})

const frameKey = new Uint8Array(32).fill(3)

export const targets: FuzzTarget[] = [
  {
    name: 'length-delimited',
    seeds: [encodeDelimited(utf8('hello')), Buffer.concat([encodeDelimited(new Uint8Array(300)), encodeDelimited(new Uint8Array(0))])],
    run: input => { new LengthDelimitedDecoder(1024).push(input, () => {}) }
  },
  {
    name: 'packet',
    seeds: [encodeDelimitedPacketMsg(0x20, true, utf8('data')).subarray(1), Uint8Array.of(0x0a, 0x00), Uint8Array.of(0x12, 0x00)],
    run: input => { decodePacket(input) }
  },
  {
    name: 'secret-frames',
    seeds: [new Uint8Array(1044), new Uint8Array(2088)],
    run: input => {
      // Random bytes as sealed frames: the only acceptable outcome is ERR_FRAME_AUTH (or nothing).
      const socket = new PassThrough()
      const conn = new SecretConnection(socket, { sendKey: frameKey, recvKey: frameKey })
      let error: unknown
      conn.on('error', err => { error = err })
      conn.on('data', () => {})
      socket.emit('data', Buffer.from(input))
      conn.destroy()
      if (error !== undefined && !(error instanceof SwitchyardError)) throw error
    }
  },
  {
    name: 'handshake-messages',
    seeds: [Buffer.concat([Buffer.from('0a20', 'hex'), new Uint8Array(32)]), Buffer.concat([Buffer.from('0a220a20', 'hex'), new Uint8Array(32), Buffer.from('1240', 'hex'), new Uint8Array(64)])],
    run: input => {
      try { decodeBytesValue(input) } catch (e) { if (!(e instanceof SwitchyardError)) throw e }
      decodeAuthSigMessage(input)
    }
  },
  {
    name: 'node-info',
    seeds: [nodeInfoSeed],
    run: input => { validateNodeInfo(decodeNodeInfo(input)) }
  },
  {
    name: 'pex',
    seeds: [encodePexMessage({ type: 'request' }), encodePexMessage({ type: 'addrs', addrs: [{ id: 'ab'.repeat(20), ip: '1.2.3.4', port: 26656 }] })],
    run: input => { decodePexMessage(input) }
  },
  {
    name: 'addrbook-json',
    seeds: [utf8(JSON.stringify({ key: 'abcd', addrs: [{ addr: { id: 'ab'.repeat(20), ip: '8.8.8.8', port: 1 }, src: { id: 'ab'.repeat(20), ip: '8.8.8.8', port: 1 }, buckets: [1], attempts: 0, bucket_type: 1, last_attempt: '2026-01-01T00:00:00Z', last_success: '0001-01-01T00:00:00Z', last_ban_time: '0001-01-01T00:00:00Z' }] }))],
    run: input => { AddrBook.fromText(text(input)) }
  },
  {
    name: 'node-key-json',
    seeds: [utf8(JSON.stringify(NodeKey.fromSeed(new Uint8Array(32).fill(7)).toJSON()))],
    run: input => { NodeKey.fromJSON(text(input)) }
  },
  {
    name: 'config-toml',
    seeds: [utf8('moniker = "x"\n[p2p]\nladdr = "tcp://0.0.0.0:26656"\nseeds = "a@b:1"\nmax_num_inbound_peers = 40\ndial_timeout = "3s"\npex = true\n[instrumentation]\nprometheus = false\n')],
    run: input => { applyToml(defaultConfig('/nonexistent'), text(input), 'config.toml') }
  },
  {
    name: 'lan-announcement',
    seeds: [new Uint8Array(0)],
    run: input => { decodeAnnouncement(input) }
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

/** Runs one input; returns undefined when acceptable, or what went wrong. */
export function check (t: FuzzTarget, input: Uint8Array): string | undefined {
  try {
    t.run(input)
    return undefined
  } catch (err) {
    return err instanceof SwitchyardError ? undefined : `${(err as Error)?.name ?? 'throw'}: ${(err as Error)?.message ?? String(err)}`
  }
}
