/**
 * Hand-written codec for the MConnection `Packet` (tendermint.p2p.Packet), the hot path of every
 * connection. It produces exactly the bytes protobufjs (and gogoproto) produce — a property test
 * checks that — and is several times faster because it writes straight into the caller's buffer.
 *
 *   Packet    { oneof sum { PacketPing packet_ping = 1; PacketPong packet_pong = 2; PacketMsg packet_msg = 3; } }
 *   PacketMsg { int32 channel_id = 1; bool eof = 2; bytes data = 3; }
 */
import { MalformedMessageError } from './errors.js'
import { readUvarint, uvarintSize, writeUvarint, type UvarintResult } from './varint.js'

export type Packet =
  | { readonly type: 'ping' }
  | { readonly type: 'pong' }
  | { readonly type: 'msg', readonly channelId: number, readonly eof: boolean, readonly data: Uint8Array }

export const PING: Packet = Object.freeze({ type: 'ping' })
export const PONG: Packet = Object.freeze({ type: 'pong' })

/** Delimited ping and pong as they appear on the stream: `02 0a 00` and `02 12 00`. */
export const PING_BYTES = Uint8Array.of(0x02, 0x0a, 0x00)
export const PONG_BYTES = Uint8Array.of(0x02, 0x12, 0x00)

function packetMsgBodySize (channelId: number, eof: boolean, dataLen: number): number {
  let n = 0
  if (channelId !== 0) n += 1 + uvarintSize(channelId)
  if (eof) n += 2
  if (dataLen > 0) n += 1 + uvarintSize(dataLen) + dataLen
  return n
}

/** Size of the Packet body (without its own length prefix) wrapping one PacketMsg. */
export function packetMsgPacketSize (channelId: number, eof: boolean, dataLen: number): number {
  const inner = packetMsgBodySize(channelId, eof, dataLen)
  return 1 + uvarintSize(inner) + inner
}

/** Size on the stream: length prefix plus Packet body. */
export function delimitedPacketMsgSize (channelId: number, eof: boolean, dataLen: number): number {
  const body = packetMsgPacketSize(channelId, eof, dataLen)
  return uvarintSize(body) + body
}

/**
 * The largest legal Packet body for the given channels and payload size: the final (eof) packet of
 * a full chunk on the channel whose id takes the most varint bytes. CometBFT computes this once for
 * channel 1 only (1034 bytes at 1024), which is too small for ids ≥ 0x80; we compute it properly.
 */
export function maxPacketSize (maxPayload: number, channelIds: Iterable<number>): number {
  let max = packetMsgPacketSize(1, true, maxPayload)
  for (const id of channelIds) max = Math.max(max, packetMsgPacketSize(id, true, maxPayload))
  return max
}

/**
 * Writes a length-delimited Packet{PacketMsg} at `offset` of `out` (which must have room:
 * delimitedPacketMsgSize bytes). Returns the offset after it.
 */
export function writeDelimitedPacketMsg (
  out: Uint8Array, offset: number, channelId: number, eof: boolean,
  data: Uint8Array, dataStart: number, dataEnd: number
): number {
  const dataLen = dataEnd - dataStart
  offset = writeDelimitedPacketMsgHeader(out, offset, channelId, eof, dataLen)
  if (dataLen > 0) {
    out.set(dataLen === data.length ? data : data.subarray(dataStart, dataEnd), offset)
    offset += dataLen
  }
  return offset
}

/**
 * Writes all of a length-delimited Packet{PacketMsg} except its `dataLen` data bytes, which belong
 * right after it (at most 16 bytes for channel ids < 2^14 and data < 2^21). Returns the offset
 * where the data go. For writers that place the data themselves (SecretConnection frames).
 */
export function writeDelimitedPacketMsgHeader (
  out: Uint8Array, offset: number, channelId: number, eof: boolean, dataLen: number
): number {
  const inner = packetMsgBodySize(channelId, eof, dataLen)
  const body = 1 + uvarintSize(inner) + inner
  offset = writeUvarint(out, offset, body)
  out[offset++] = 0x1a // field 3 (packet_msg), wire type 2
  offset = writeUvarint(out, offset, inner)
  if (channelId !== 0) {
    out[offset++] = 0x08 // field 1 (channel_id), varint
    offset = writeUvarint(out, offset, channelId)
  }
  if (eof) {
    out[offset++] = 0x10 // field 2 (eof), varint
    out[offset++] = 0x01
  }
  if (dataLen > 0) {
    out[offset++] = 0x1a // field 3 (data), bytes
    offset = writeUvarint(out, offset, dataLen)
  }
  return offset
}

/** Encodes one Packet{PacketMsg} with its length prefix into a new buffer. */
export function encodeDelimitedPacketMsg (channelId: number, eof: boolean, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(delimitedPacketMsgSize(channelId, eof, data.length))
  writeDelimitedPacketMsg(out, 0, channelId, eof, data, 0, data.length)
  return out
}

const EMPTY: Uint8Array = new Uint8Array(0)
const scratch: UvarintResult = { value: 0, next: 0 }

function need (cond: boolean, what: string): void {
  if (!cond) throw new MalformedMessageError(`malformed Packet: ${what}`)
}

/** Skips one unknown field of the given wire type; returns the offset after it. */
function skipField (buf: Uint8Array, pos: number, end: number, wireType: number): number {
  switch (wireType) {
    case 0:
      need(readUvarint(buf, pos, end, scratch), 'truncated varint')
      return scratch.next
    case 1:
      need(pos + 8 <= end, 'truncated fixed64')
      return pos + 8
    case 2:
      need(readUvarint(buf, pos, end, scratch), 'truncated length')
      need(scratch.next + scratch.value <= end, 'truncated bytes')
      return scratch.next + scratch.value
    case 5:
      need(pos + 4 <= end, 'truncated fixed32')
      return pos + 4
    default:
      throw new MalformedMessageError(`malformed Packet: unsupported wire type ${wireType}`)
  }
}

/**
 * channel_id is an int32: negative ids arrive as 10-byte varints, which readUvarint refuses as
 * unsafe integers. They are well-formed protobuf, so report them as channel -1 (never registered)
 * and let the connection refuse the unknown channel, as CometBFT does.
 */
function readChannelId (buf: Uint8Array, pos: number, end: number): number {
  let value = 0
  for (let i = 0; i < 10; i++) {
    need(pos + i < end, 'truncated channel_id')
    const b = buf[pos + i]!
    if (i < 5) value += (b & 0x7f) * 2 ** (7 * i)
    if (b < 0x80) {
      scratch.value = i >= 5 || value > 0x7fffffff ? -1 : value
      return pos + i + 1
    }
  }
  throw new MalformedMessageError('malformed Packet: channel_id varint longer than 10 bytes')
}

/**
 * A decoded Packet without objects: what decodePacketInto() writes, reusable across calls. For a
 * message packet the data are `buf[dataStart, dataEnd)` of the decoded buffer.
 */
export interface PacketFields {
  type: 'ping' | 'pong' | 'msg'
  channelId: number
  eof: boolean
  dataStart: number
  dataEnd: number
}

export function packetFields (): PacketFields {
  return { type: 'ping', channelId: 0, eof: false, dataStart: 0, dataEnd: 0 }
}

function decodePacketMsgInto (buf: Uint8Array, pos: number, end: number, out: PacketFields): void {
  let channelId = 0
  let eof = false
  let dataStart = 0
  let dataEnd = 0
  while (pos < end) {
    need(readUvarint(buf, pos, end, scratch), 'truncated tag')
    const tag = scratch.value
    pos = scratch.next
    const field = Math.floor(tag / 8)
    const wireType = tag & 7
    if (field === 1 && wireType === 0) {
      pos = readChannelId(buf, pos, end)
      channelId = scratch.value
    } else if (field === 2 && wireType === 0) {
      need(readUvarint(buf, pos, end, scratch), 'truncated eof')
      eof = scratch.value !== 0
      pos = scratch.next
    } else if (field === 3 && wireType === 2) {
      need(readUvarint(buf, pos, end, scratch), 'truncated data length')
      const len = scratch.value
      pos = scratch.next
      need(pos + len <= end, 'truncated data')
      // A repeated field: the last one wins, as in protobuf.
      dataStart = pos
      dataEnd = pos + len
      pos += len
    } else {
      need(field !== 0, 'field number 0')
      pos = skipField(buf, pos, end, wireType)
    }
  }
  out.type = 'msg'
  out.channelId = channelId
  out.eof = eof
  out.dataStart = dataStart
  out.dataEnd = dataEnd
}

/**
 * Decodes the Packet body `buf[start, end)` (without its length prefix) into `out`, creating no
 * objects: the receive hot path. Throws MalformedMessageError exactly where decodePacket() does.
 */
export function decodePacketInto (buf: Uint8Array, start: number, end: number, out: PacketFields): void {
  let pos = start
  let found = false
  while (pos < end) {
    need(readUvarint(buf, pos, end, scratch), 'truncated tag')
    const tag = scratch.value
    pos = scratch.next
    const field = Math.floor(tag / 8)
    const wireType = tag & 7
    if (field >= 1 && field <= 3 && wireType === 2) {
      need(readUvarint(buf, pos, end, scratch), 'truncated length')
      const len = scratch.value
      pos = scratch.next
      need(pos + len <= end, 'truncated sub-message')
      if (field === 1) { validateEmpty(buf, pos, pos + len); out.type = 'ping' } else if (field === 2) { validateEmpty(buf, pos, pos + len); out.type = 'pong' } else decodePacketMsgInto(buf, pos, pos + len, out)
      found = true
      pos += len
    } else {
      need(field !== 0, 'field number 0')
      pos = skipField(buf, pos, end, wireType)
    }
  }
  if (!found) throw new MalformedMessageError('malformed Packet: no message in Packet.sum')
}

const fields = packetFields()

/**
 * Decodes one Packet body (without its length prefix). `data` of a message packet is a view of
 * `buf`. Throws MalformedMessageError for bytes that are not a Packet, including a Packet with no
 * member of `sum` set.
 */
export function decodePacket (buf: Uint8Array): Packet {
  decodePacketInto(buf, 0, buf.length, fields)
  if (fields.type === 'ping') return PING
  if (fields.type === 'pong') return PONG
  const data = fields.dataEnd > fields.dataStart ? buf.subarray(fields.dataStart, fields.dataEnd) : EMPTY
  return { type: 'msg', channelId: fields.channelId, eof: fields.eof, data }
}

/** Ping and pong have no fields; unknown fields inside them are skipped but must be well formed. */
function validateEmpty (buf: Uint8Array, pos: number, end: number): void {
  while (pos < end) {
    need(readUvarint(buf, pos, end, scratch), 'truncated tag')
    pos = scratch.next
    need(scratch.value >= 8, 'field number 0')
    pos = skipField(buf, pos, end, scratch.value & 7)
  }
}

