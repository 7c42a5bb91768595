import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  decodePacket, decodePacketInto, packetFields, encodeDelimitedPacketMsg, maxPacketSize, packetMsgPacketSize, PING_BYTES, PONG_BYTES,
  protoTypes, LengthDelimitedDecoder, MalformedMessageError
} from '@switchyard/wire'
import { hex, readVector, toHex } from '../../../test/vectors.js'

const gen = readVector('cometbft/generated-v0.37.18.json')

function pbEncodeDelimited (channelId: number, eof: boolean, data: Uint8Array): Uint8Array {
  // Only non-default fields, as gogoproto writes them.
  const msg: Record<string, unknown> = {}
  if (channelId !== 0) msg.channel_id = channelId
  if (eof) msg.eof = true
  if (data.length > 0) msg.data = data
  return protoTypes.Packet.encodeDelimited({ packet_msg: msg }).finish()
}

describe('Packet codec', () => {
  it('produces the recorded CometBFT bytes for ping, pong and messages', () => {
    const [ping, pong, m30, m00, m80] = gen.packets.map((p: { hex: string }) => p.hex)
    expect(toHex(PING_BYTES)).toBe(ping)
    expect(toHex(PONG_BYTES)).toBe(pong)
    expect(toHex(encodeDelimitedPacketMsg(0x30, true, hex('01020304')))).toBe(m30)
    expect(toHex(encodeDelimitedPacketMsg(0x00, true, new Uint8Array(0)))).toBe(m00)
    expect(toHex(encodeDelimitedPacketMsg(0x80, false, hex('01')))).toBe(m80)
  })

  it('decodes the recorded packets', () => {
    expect(decodePacket(hex(gen.packets[0].hex).subarray(1))).toEqual({ type: 'ping' })
    expect(decodePacket(hex(gen.packets[1].hex).subarray(1))).toEqual({ type: 'pong' })
    const m = decodePacket(hex(gen.packets[4].hex).subarray(1))
    expect(m).toMatchObject({ type: 'msg', channelId: 0x80, eof: false })
    expect(m.type === 'msg' && toHex(m.data)).toBe('01')
  })

  it('computes the max packet size as CometBFT does for low ids, and correctly for ids ≥ 0x80', () => {
    expect(packetMsgPacketSize(1, true, 1024)).toBe(gen.max_packet_msg_size_for_payload_1024)
    expect(maxPacketSize(1024, [0x00, 0x20, 0x7f])).toBe(1034)
    expect(maxPacketSize(1024, [0x00, 0x80])).toBe(1035)
  })

  it('hand-written encoder gives exactly the bytes protobufjs gives (property)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 255 }), fc.boolean(), fc.uint8Array({ maxLength: 2048 }),
      (ch, eof, data) => {
        expect(toHex(encodeDelimitedPacketMsg(ch, eof, data))).toBe(toHex(pbEncodeDelimited(ch, eof, data)))
      }
    ), { numRuns: 500 })
  })

  it('decodes whatever protobufjs encodes, including explicit defaults (property)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 255 }), fc.boolean(), fc.uint8Array({ maxLength: 2048 }), fc.boolean(),
      (ch, eof, data, explicit) => {
        const msg = explicit ? { channel_id: ch, eof, data } : { ...(ch ? { channel_id: ch } : {}), ...(eof ? { eof } : {}), ...(data.length ? { data } : {}) }
        const body = protoTypes.Packet.encode({ packet_msg: msg }).finish()
        const p = decodePacket(body)
        expect(p.type).toBe('msg')
        if (p.type !== 'msg') return
        expect(p.channelId).toBe(ch)
        expect(p.eof).toBe(eof)
        expect(toHex(p.data)).toBe(toHex(data))
      }
    ), { numRuns: 500 })
    expect(decodePacket(protoTypes.Packet.encode({ packet_ping: {} }).finish())).toEqual({ type: 'ping' })
    expect(decodePacket(protoTypes.Packet.encode({ packet_pong: {} }).finish())).toEqual({ type: 'pong' })
  })

  it('skips unknown fields and refuses malformed bodies with a typed error', () => {
    // unknown field 9 (varint) before packet_msg
    expect(decodePacket(hex('48051a0408011001'))).toMatchObject({ type: 'msg', channelId: 1, eof: true })
    const bad = ['', '1a', '1a05', '1a0108', '0a', '0f', '00', '1a0208', '1a031a0501', 'ff']
    for (const b of bad) {
      expect(() => decodePacket(hex(b)), b).toThrow(MalformedMessageError)
    }
    // negative channel id is a 10-byte varint; it decodes to -1 (never a valid channel)
    const neg = protoTypes.Packet.encode({ packet_msg: { channel_id: -5, eof: true } }).finish()
    expect(decodePacket(neg)).toMatchObject({ type: 'msg', channelId: -1 })
  })

  it('decodePacketInto reads a Packet in the middle of a buffer, with its data as a range of that buffer', () => {
    const data = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff)
    const delimited = encodeDelimitedPacketMsg(0x42, true, data)
    const body = delimited.subarray(2) // the 2-byte length prefix (300 + 8 bytes)
    const buf = new Uint8Array(body.length + 20).fill(0xff)
    buf.set(body, 7)
    const f = packetFields()
    decodePacketInto(buf, 7, 7 + body.length, f)
    expect(f).toMatchObject({ type: 'msg', channelId: 0x42, eof: true })
    expect(toHex(buf.subarray(f.dataStart, f.dataEnd))).toBe(toHex(data))
    decodePacketInto(buf.fill(0, 0, 7).fill(0x0a, 3, 4).fill(0, 4, 5), 3, 5, f) // 0a 00: a ping
    expect(f.type).toBe('ping')
    // The range ends where told: the same body cut one byte short is malformed.
    buf.set(body, 7)
    expect(() => decodePacketInto(buf, 7, 6 + body.length, f)).toThrow(MalformedMessageError)
  })

  it('never throws anything but MalformedMessageError on random bytes (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), bytes => {
      try { decodePacket(bytes) } catch (err) { expect(err).toBeInstanceOf(MalformedMessageError) }
    }), { numRuns: 2000 })
  })

  it('the recorded MConnection stream splits into the recorded packets at any fragmentation', () => {
    const stream = hex(gen.mconnection_stream.full_hex)
    const expected = gen.mconnection_stream.packets as string[]
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 700 }), { maxLength: 20 }), cuts => {
      const dec = new LengthDelimitedDecoder(1034)
      const got: string[] = []
      let pos = 0
      let i = 0
      while (pos < stream.length) {
        const n = cuts.length > 0 ? cuts[i++ % cuts.length]! : stream.length
        dec.push(stream.subarray(pos, pos + n), body => { got.push(toHex(encodeDelimitedPacketPrefix(body))) })
        pos += n
      }
      expect(got).toEqual(expected)
    }), { numRuns: 200 })
  })
})

function encodeDelimitedPacketPrefix (body: Uint8Array): Uint8Array {
  return protoTypes.Packet.encodeDelimited(protoTypes.Packet.decode(body)).finish()
}
