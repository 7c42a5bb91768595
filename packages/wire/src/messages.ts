/**
 * Typed encode/decode for the non-hot-path messages, on top of protobufjs reflection.
 *
 * gogoproto (CometBFT) omits proto3 fields holding their default value, while protobufjs writes
 * every field present on the object it is given. The encoders below therefore only set fields that
 * differ from the default, which keeps our bytes identical to CometBFT's (checked against vectors).
 */
import type protobuf from 'protobufjs'
import { MalformedMessageError } from './errors.js'
import { types } from './proto.js'

export interface ProtocolVersion { p2p: number, block: number, app: number }

export interface NodeInfo {
  protocolVersion: ProtocolVersion
  /** 40 lowercase hex characters. */
  nodeId: string
  listenAddr: string
  /** The chain id. */
  network: string
  version: string
  /** One byte per channel id. */
  channels: Uint8Array
  moniker: string
  other: { txIndex: string, rpcAddress: string }
}

export interface NetAddressMessage { id: string, ip: string, port: number }

export type PexMessage =
  | { type: 'request' }
  | { type: 'addrs', addrs: NetAddressMessage[] }

export interface AuthSigMessage {
  /** Which member of PublicKey.sum was set, and its bytes. */
  keyType: 'ed25519' | 'secp256k1' | 'bls12381' | 'none'
  pubKey: Uint8Array
  sig: Uint8Array
}

type Obj = Record<string, unknown>

function decodeWith (type: protobuf.Type, what: string, bytes: Uint8Array): Obj {
  try {
    return type.decode(bytes) as unknown as Obj
  } catch (err) {
    throw new MalformedMessageError(`malformed ${what}: ${(err as Error).message}`, { cause: err })
  }
}

function num (v: unknown): number {
  if (v == null) return 0
  if (typeof v === 'number') return v
  // protobufjs hands uint64 out as a Long when long.js is present.
  const n = Number(typeof v === 'object' && 'toString' in v ? String(v) : v)
  if (!Number.isSafeInteger(n)) throw new MalformedMessageError(`integer out of range: ${String(v)}`)
  return n
}

function str (v: unknown): string {
  return typeof v === 'string' ? v : ''
}

function bytes (v: unknown): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array(0)
}

function setIf (o: Obj, key: string, value: string | number | boolean | Uint8Array): void {
  if (value instanceof Uint8Array ? value.length > 0 : (value !== '' && value !== 0 && value !== false)) o[key] = value
}

export function encodeNodeInfo (info: NodeInfo): Uint8Array {
  const pv: Obj = {}
  setIf(pv, 'p2p', info.protocolVersion.p2p)
  setIf(pv, 'block', info.protocolVersion.block)
  setIf(pv, 'app', info.protocolVersion.app)
  const other: Obj = {}
  setIf(other, 'tx_index', info.other.txIndex)
  setIf(other, 'rpc_address', info.other.rpcAddress)
  // protocol_version and other are non-nullable in gogoproto: always written, even when empty.
  const o: Obj = { protocol_version: pv }
  setIf(o, 'default_node_id', info.nodeId)
  setIf(o, 'listen_addr', info.listenAddr)
  setIf(o, 'network', info.network)
  setIf(o, 'version', info.version)
  setIf(o, 'channels', info.channels)
  setIf(o, 'moniker', info.moniker)
  o.other = other
  return types.DefaultNodeInfo.encode(o).finish()
}

export function decodeNodeInfo (buf: Uint8Array): NodeInfo {
  const o = decodeWith(types.DefaultNodeInfo, 'DefaultNodeInfo', buf)
  const pv = (o.protocol_version ?? {}) as Obj
  const other = (o.other ?? {}) as Obj
  return {
    protocolVersion: { p2p: num(pv.p2p), block: num(pv.block), app: num(pv.app) },
    nodeId: str(o.default_node_id),
    listenAddr: str(o.listen_addr),
    network: str(o.network),
    version: str(o.version),
    channels: Uint8Array.from(bytes(o.channels)),
    moniker: str(o.moniker),
    other: { txIndex: str(other.tx_index), rpcAddress: str(other.rpc_address) }
  }
}

function netAddressObj (a: NetAddressMessage): Obj {
  const o: Obj = {}
  setIf(o, 'id', a.id)
  setIf(o, 'ip', a.ip)
  setIf(o, 'port', a.port)
  return o
}

export function encodeNetAddress (a: NetAddressMessage): Uint8Array {
  return types.NetAddress.encode(netAddressObj(a)).finish()
}

export function decodeNetAddress (buf: Uint8Array): NetAddressMessage {
  const o = decodeWith(types.NetAddress, 'NetAddress', buf)
  return { id: str(o.id), ip: str(o.ip), port: num(o.port) }
}

/** A PEX message body as carried on channel 0x00 (no extra length prefix inside). */
export function encodePexMessage (m: PexMessage): Uint8Array {
  const o: Obj = m.type === 'request' ? { pex_request: {} } : { pex_addrs: { addrs: m.addrs.map(netAddressObj) } }
  return types.PexMessage.encode(o).finish()
}

export function decodePexMessage (buf: Uint8Array): PexMessage {
  const o = decodeWith(types.PexMessage, 'PEX Message', buf)
  if (Object.hasOwn(o, 'pex_request')) return { type: 'request' }
  if (Object.hasOwn(o, 'pex_addrs')) {
    const addrs = ((o.pex_addrs as Obj).addrs ?? []) as Obj[]
    return { type: 'addrs', addrs: addrs.map(a => ({ id: str(a.id), ip: str(a.ip), port: num(a.port) })) }
  }
  throw new MalformedMessageError('malformed PEX Message: no message in Message.sum')
}

export function encodeAuthSigMessage (pubKey: Uint8Array, sig: Uint8Array): Uint8Array {
  // pub_key is non-nullable in gogoproto, and a set oneof member is written even when empty.
  const o: Obj = { pub_key: { ed25519: pubKey } }
  setIf(o, 'sig', sig)
  return types.AuthSigMessage.encode(o).finish()
}

export function decodeAuthSigMessage (buf: Uint8Array): AuthSigMessage {
  const o = decodeWith(types.AuthSigMessage, 'AuthSigMessage', buf)
  const pk = (o.pub_key ?? {}) as Obj
  let keyType: AuthSigMessage['keyType'] = 'none'
  let pubKey: Uint8Array = new Uint8Array(0)
  // Decoded protobufjs messages carry defaults on the prototype: only own properties were sent.
  for (const k of ['ed25519', 'secp256k1', 'bls12381'] as const) {
    if (Object.hasOwn(pk, k)) { keyType = k; pubKey = bytes(pk[k]) }
  }
  return { keyType, pubKey, sig: bytes(o.sig) }
}

/** google.protobuf.BytesValue, the envelope of the ephemeral X25519 key. */
export function encodeBytesValue (value: Uint8Array): Uint8Array {
  const o: Obj = {}
  setIf(o, 'value', value)
  return types.BytesValue.encode(o).finish()
}

export function decodeBytesValue (buf: Uint8Array): Uint8Array {
  return bytes(decodeWith(types.BytesValue, 'BytesValue', buf).value)
}
