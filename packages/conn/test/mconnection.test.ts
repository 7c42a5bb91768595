import { afterEach, describe, expect, it } from 'vitest'
import { Duplex, PassThrough } from 'node:stream'
import type net from 'node:net'
import fc from 'fast-check'
import { MConnection, PEER_CLOSED, type ChannelDescriptor, type MConnectionOptions } from '@switchyard/conn'
import { encodeDelimitedPacketMsg, encodeUvarint, decodePacket, LengthDelimitedDecoder, protoTypes } from '@switchyard/wire'
import { collectMessages, nextEvent, patternBytes, scaled, socketPair, waitFor } from '../../../test/helpers.js'
import { hex, readVector, toHex } from '../../../test/vectors.js'

const gen = readVector('cometbft/generated-v0.37.18.json')
const open: Array<MConnection | net.Socket> = []

afterEach(() => {
  for (const c of open.splice(0)) c instanceof MConnection ? c.close() : c.destroy()
})

async function pair (channels: ChannelDescriptor[], opts: Partial<MConnectionOptions> = {}, optsB = opts): Promise<[MConnection, MConnection]> {
  const [sa, sb] = await socketPair()
  const a = new MConnection(sa, { channels, ...opts })
  const b = new MConnection(sb, { channels, ...optsB })
  open.push(a, b)
  return [a, b]
}

/** An MConnection facing a raw socket we drive by hand. */
async function facingRaw (channels: ChannelDescriptor[], opts: Partial<MConnectionOptions> = {}): Promise<[MConnection, net.Socket]> {
  const [sa, sb] = await socketPair()
  const conn = new MConnection(sa, { channels, ...opts })
  open.push(conn, sb)
  return [conn, sb]
}

const three: ChannelDescriptor[] = [
  { id: 0x20, priority: 5, sendQueueCapacity: 100 },
  { id: 0x30, priority: 1, sendQueueCapacity: 100 },
  { id: 0x7e, priority: 3, sendQueueCapacity: 100 }
]

describe('MConnection over loopback TCP', () => {
  it('interleaves many messages on several channels and keeps per-channel order', async () => {
    const [a, b] = await pair(three)
    const got = collectMessages(b)
    const sent = new Map<number, string[]>()
    const sends: Array<Promise<boolean>> = []
    for (let i = 0; i < 60; i++) {
      for (const ch of [0x20, 0x30, 0x7e]) {
        const msg = patternBytes((i * 397 + ch) % 5000, i * 1000 + ch)
        sent.set(ch, [...(sent.get(ch) ?? []), msg.toString('hex')])
        sends.push(a.send(ch, msg))
      }
    }
    expect((await Promise.all(sends)).every(Boolean)).toBe(true)
    await waitFor(() => got.length === 180, 5000, '180 messages')
    for (const ch of [0x20, 0x30, 0x7e]) {
      expect(got.filter(m => m.ch === ch).map(m => m.data.toString('hex'))).toEqual(sent.get(ch))
    }
    // Several channels really were in flight together: their packets interleaved on the wire.
    expect(new Set(got.slice(0, 30).map(m => m.ch)).size).toBeGreaterThan(1)
  })

  it('carries a 5 MiB message and empty messages', async () => {
    const [a, b] = await pair(three)
    const got = collectMessages(b)
    const big = patternBytes(5 * 1024 * 1024, 7)
    expect(await a.send(0x20, new Uint8Array(0))).toBe(true)
    expect(await a.send(0x20, big)).toBe(true)
    expect(await a.send(0x20, new Uint8Array(0))).toBe(true)
    await waitFor(() => got.length === 3, 10_000, 'three messages')
    expect(got.map(m => m.data.length)).toEqual([0, big.length, 0])
    expect(got[1]!.data.equals(big)).toBe(true)
    expect(a.status().channels[0]).toMatchObject({ id: 0x20, messagesSent: 3, sendQueueSize: 0, pendingBytes: 0 })
    expect(b.status().channels[0]).toMatchObject({ messagesReceived: 3 })
  })

  it('writes exactly the bytes a CometBFT MConnection writes (recorded vector)', async () => {
    const sink = new PassThrough()
    const written: Buffer[] = []
    sink.on('data', (c: Buffer) => written.push(c))
    const conn = new MConnection(sink, { channels: [{ id: 0x7e, priority: 1 }] })
    open.push(conn)
    const m1 = Buffer.alloc(2500)
    for (let i = 0; i < m1.length; i++) m1[i] = (7 * i) % 256
    const s1 = conn.send(0x7e, m1)
    const s2 = conn.send(0x7e, new Uint8Array(0)) // waits: CometBFT's default queue capacity is 1
    expect(await s1).toBe(true)
    expect(await s2).toBe(true)
    await waitFor(() => Buffer.concat(written).length >= gen.mconnection_stream.full_hex.length / 2)
    expect(toHex(Buffer.concat(written))).toBe(gen.mconnection_stream.full_hex)
  })

  it('reassembles the recorded CometBFT stream whatever the fragmentation (property)', async () => {
    const stream = hex(gen.mconnection_stream.full_hex)
    const m1 = Buffer.alloc(2500)
    for (let i = 0; i < m1.length; i++) m1[i] = (7 * i) % 256
    await fc.assert(fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 1500 }), { minLength: 1, maxLength: 12 }), async cuts => {
      const [conn, raw] = await facingRaw([{ id: 0x7e, priority: 1 }])
      const got = collectMessages(conn)
      for (let pos = 0, i = 0; pos < stream.length; i++) {
        const n = cuts[i % cuts.length]!
        // Separate writes with a round trip so that the receiver sees separate chunks.
        await new Promise<void>(resolve => raw.write(stream.subarray(pos, pos + n), () => resolve()))
        pos += n
      }
      await waitFor(() => got.length === 2)
      expect(got[0]!.data.equals(m1)).toBe(true)
      expect(got[1]!.data.length).toBe(0)
      conn.close()
      raw.destroy()
    }), { numRuns: 15 })
  })

  it('keeps a high-priority channel within a few packets of a saturating low-priority one', async () => {
    // Record every write so we can see the order the scheduler chose, independent of kernel buffers.
    const writes: Buffer[] = []
    let writtenAtSend = -1
    const recorder = new Duplex({
      read () {},
      write (chunk: Buffer, _enc, cb) { writes.push(chunk); setImmediate(cb) }
    })
    // The recorder never answers pings, so pacing would hold the bulk after one window: this test
    // is about the scheduler's order alone (send-pacer.test.ts covers pacing).
    const conn = new MConnection(recorder, {
      channels: [{ id: 0x01, priority: 1, sendQueueCapacity: 1000 }, { id: 0x02, priority: 10, sendQueueCapacity: 10 }],
      pacing: false
    })
    open.push(conn)
    for (let i = 0; i < 400; i++) conn.trySend(0x01, patternBytes(4096, i))
    await waitFor(() => writes.length >= 5, 5000, 'saturation')
    writtenAtSend = Buffer.concat(writes).length
    expect(conn.trySend(0x02, Buffer.from('urgent'))).toBe(true)
    await waitFor(() => Buffer.concat(writes).includes(Buffer.from('urgent')), 5000, 'urgent message')
    const stream = Buffer.concat(writes)
    const dec = new LengthDelimitedDecoder(2000)
    let lowAfterSend = 0
    let offset = 0
    let found = false
    dec.push(stream, body => {
      offset += encodeUvarint(body.length).length + body.length
      const p = decodePacket(body)
      if (p.type !== 'msg' || offset <= writtenAtSend) return true
      if (p.channelId === 0x02) { found = true; return false }
      lowAfterSend++
      return true
    })
    expect(found).toBe(true)
    expect(lowAfterSend).toBeLessThanOrEqual(2)
  })

  it('answers pings and survives idle time with short keep-alive settings', async () => {
    const [a, b] = await pair(three, { pingInterval: 40, pongTimeout: 30 })
    await waitFor(() => a.status().pongsReceived >= 4 && b.status().pongsReceived >= 4, 5000, 'pongs')
    expect(a.isClosed || b.isClosed).toBe(false)
  })

  it('closes with ERR_PONG_TIMEOUT when the peer never answers a ping', async () => {
    const [conn, raw] = await facingRaw(three, { pingInterval: 50, pongTimeout: 30 })
    raw.on('data', () => {}) // reads our pings, never answers
    const [err] = await nextEvent<[Error]>(conn, 'close')
    expect(err).toMatchObject({ code: 'ERR_PONG_TIMEOUT', name: 'PongTimeoutError' })
  })

  it('ping() measures a round trip to the peer', async () => {
    const [a] = await pair(three)
    const rtt = await a.ping(2000)
    expect(rtt).toBeGreaterThan(0)
    expect(a.status().pongsReceived).toBe(1)
    const [conn, raw] = await facingRaw(three)
    raw.on('data', () => {}) // never answers
    await expect(conn.ping(50)).rejects.toMatchObject({ code: 'ERR_PONG_TIMEOUT' })
    expect(conn.isClosed).toBe(false)
  })

  it('answers pings at once even with a flush throttle (only data waits for it)', async () => {
    const [a, b] = await pair(three, {}, { flushThrottle: 10_000 })
    expect(await a.ping(scaled(2000))).toBeLessThan(scaled(2000))
    void b
  })

  it('answers a raw ping with a pong', async () => {
    const [, raw] = await facingRaw(three)
    const got: Buffer[] = []
    raw.on('data', (c: Buffer) => got.push(c))
    raw.write(hex('020a00'))
    await waitFor(() => Buffer.concat(got).length >= 3)
    expect(toHex(Buffer.concat(got))).toBe('021200') // a pong, and nothing else
  })

  it('answers a ping before handling the rest of the read it came in (the pong is not held behind the read)', async () => {
    const [sa, raw] = await socketPair()
    const written: Buffer[] = []
    const write = sa.write.bind(sa) as (chunk: Buffer) => boolean
    sa.write = ((chunk: Buffer) => { written.push(Buffer.from(chunk)); return write(chunk) }) as typeof sa.write
    const conn = new MConnection(sa, { channels: three })
    open.push(conn, raw)
    let pongWrittenBeforeMessage: boolean | undefined
    conn.on('message', () => { pongWrittenBeforeMessage = toHex(Buffer.concat(written)).includes('021200') })
    // One write, one read on loopback: a ping, then a message after it.
    raw.write(Buffer.concat([hex('020a00'), encodeDelimitedPacketMsg(three[0]!.id, true, patternBytes(500, 1))]))
    await waitFor(() => pongWrittenBeforeMessage !== undefined, 5000, 'the message')
    expect(pongWrittenBeforeMessage).toBe(true)
  })

  it('answers a read full of pings with at most two pongs (one at once, one for the rest), not one each', async () => {
    const [conn, raw] = await facingRaw(three)
    const seen = { pong: 0, msg: 0 }
    const dec = new LengthDelimitedDecoder(1 << 16)
    raw.on('data', (c: Buffer) => dec.push(c, body => { const p = decodePacket(body); if (p.type === 'pong') seen.pong++; else if (p.type === 'msg') seen.msg++; return true }))
    raw.write(Buffer.concat(Array.from({ length: 300 }, () => hex('020a00')))) // 900 bytes: one read on loopback
    await waitFor(() => seen.pong >= 1, 5000, 'the first pong')
    // A message queued now leaves after every pong the flood earned: count them once it is in.
    expect(conn.trySend(three[0]!.id, Uint8Array.of(1))).toBe(true)
    await waitFor(() => seen.msg === 1, 5000, 'the marker message')
    expect(seen.pong).toBeGreaterThanOrEqual(1)
    expect(seen.pong).toBeLessThanOrEqual(4) // ≤ 2 per read, should TCP split the 900 bytes in two
  })

  /**
   * An MConnection over a stream that takes every write at once, after `busyMs` of busy work each,
   * counting batches per event-loop turn (a turn is one synchronous run: nextTick ends it).
   */
  function turnCounter (busyMs: number): { conn: MConnection, stats: { turns: number, maxInTurn: number, writes: number } } {
    const stats = { turns: 0, maxInTurn: 0, writes: 0 }
    let inTurn = 0
    const sink = new Duplex({
      writableHighWaterMark: 4 << 20,
      read () {},
      write (_chunk: Buffer, _enc, cb) {
        if (inTurn === 0) { stats.turns++; process.nextTick(() => { inTurn = 0 }) }
        stats.maxInTurn = Math.max(stats.maxInTurn, ++inTurn)
        stats.writes++
        const until = performance.now() + busyMs
        while (performance.now() < until);
        cb()
      }
    })
    const conn = new MConnection(sink, { channels: [{ id: 1, priority: 1, sendQueueCapacity: 64 }], pacing: false, pingInterval: 60_000 })
    open.push(conn)
    return { conn, stats }
  }

  it('writes up to four batches in one event-loop turn while the stream takes them, then yields', async () => {
    const { conn, stats } = turnCounter(0)
    // Forty 64 KiB messages, at least forty batches: a turn slowed past its 1 ms budget by a busy
    // machine writes fewer than four, but not all ten of them will be.
    for (let i = 0; i < 40; i++) expect(conn.trySend(1, patternBytes(65536, i))).toBe(true)
    await waitFor(() => stats.writes >= 40, 5000, 'forty batches written')
    expect(stats.maxInTurn).toBe(4)
    expect(stats.turns).toBeGreaterThanOrEqual(10)
  })

  it('starts no further batch in a turn that has run 1 ms: a slow stream gets one batch per turn', async () => {
    // 3 ms per write, as sealing 64 KiB in JavaScript takes in a browser tab.
    const { conn, stats } = turnCounter(3)
    for (let i = 0; i < 6; i++) expect(conn.trySend(1, patternBytes(65536, i))).toBe(true)
    await waitFor(() => stats.writes >= 6, 5000, 'six batches written')
    expect(stats.maxInTurn).toBe(1)
  })

  const badInputs: Array<[string, string, string]> = [
    ['a packet on a channel we do not have', toHex(encodeDelimitedPacketMsg(0x55, true, Uint8Array.of(1))), 'ERR_UNKNOWN_CHANNEL'],
    ['a negative channel id', toHex(protoTypes.Packet.encodeDelimited({ packet_msg: { channel_id: -5, eof: true } }).finish()), 'ERR_UNKNOWN_CHANNEL'],
    ['a length prefix over the packet limit', toHex(encodeUvarint(1035)), 'ERR_MESSAGE_TOO_LARGE'],
    ['a huge length prefix', 'ffffffff0f', 'ERR_MESSAGE_TOO_LARGE'],
    ['a length prefix beyond 2^53', 'ffffffffffffffff7f', 'ERR_MALFORMED_MESSAGE'],
    ['a Packet with nothing in its oneof', '00', 'ERR_MALFORMED_MESSAGE'],
    ['garbage bytes', '05ffffffffff', 'ERR_MALFORMED_MESSAGE'],
    ['an 11-byte varint', '8080808080808080808001', 'ERR_MALFORMED_MESSAGE']
  ]
  for (const [what, bytes, code] of badInputs) {
    it(`closes with ${code} on ${what}, without an uncaught exception`, async () => {
      const [conn, raw] = await facingRaw(three)
      raw.write(hex(bytes))
      const [err] = await nextEvent<[Error]>(conn, 'close')
      expect(err).toMatchObject({ code })
      expect(conn.isClosed).toBe(true)
      await nextEvent(raw, 'close')
    })
  }

  it('closes with ERR_CHANNEL_MESSAGE_TOO_LARGE before reassembling past recvMessageCapacity', async () => {
    const [conn, raw] = await facingRaw([{ id: 1, priority: 1, recvMessageCapacity: 3000 }])
    const got = collectMessages(conn)
    raw.write(encodeDelimitedPacketMsg(1, true, new Uint8Array(1000)))
    raw.write(encodeDelimitedPacketMsg(1, false, new Uint8Array(1024)))
    raw.write(encodeDelimitedPacketMsg(1, false, new Uint8Array(1024)))
    raw.write(encodeDelimitedPacketMsg(1, true, new Uint8Array(1000)))
    const [err] = await nextEvent<[Error]>(conn, 'close')
    expect(err).toMatchObject({ code: 'ERR_CHANNEL_MESSAGE_TOO_LARGE', channelId: 1 })
    expect(got.map(m => m.data.length)).toEqual([1000])
  })

  it('copies unfinished fragments into a per-channel buffer sized by what was sent, not by the read chunks they came in', async () => {
    const [conn, raw] = await facingRaw([{ id: 1, priority: 1, recvBufferCapacity: 4096, recvMessageCapacity: 100_000 }])
    const got = collectMessages(conn)
    // 3000 one-byte fragments in one 27 KB write: views into the read chunks would hold all of it.
    const parts: Uint8Array[] = []
    for (let i = 0; i < 3000; i++) parts.push(encodeDelimitedPacketMsg(1, false, Uint8Array.of(i & 0xff)))
    raw.write(Buffer.concat(parts))
    await waitFor(() => conn.status().channels[0]!.bytesReceived >= 3000 * 7, 5000, 'every fragment read')
    const st = conn.status()
    expect(st.channels[0]!.recvBufferBytes).toBe(4096)
    expect(st.reassemblyBytes).toBe(4096)
    raw.write(encodeDelimitedPacketMsg(1, true, Uint8Array.of(7)))
    await waitFor(() => got.length === 1, 5000, 'the message')
    expect(got[0]!.data.length).toBe(3001)
    expect([...got[0]!.data.subarray(0, 3)]).toEqual([0, 1, 2])
    expect(got[0]!.data[3000]).toBe(7)
    expect(conn.status().reassemblyBytes).toBe(0)
  })

  it('sizes a message\'s first buffer from the channel\'s previous message, within the budget', async () => {
    const [conn, raw] = await facingRaw([{ id: 1, priority: 1, recvBufferCapacity: 4096, recvMessageCapacity: 200_000 }, { id: 2, priority: 1, recvBufferCapacity: 4096, recvMessageCapacity: 200_000 }], { maxReassemblyBytes: 100_000 })
    const got = collectMessages(conn)
    const body = patternBytes(65536, 5)
    const fragments = (ch: number, data: Uint8Array, last: boolean): Buffer => Buffer.concat(Array.from({ length: Math.ceil(data.length / 1024) }, (_, i) =>
      encodeDelimitedPacketMsg(ch, last && (i + 1) * 1024 >= data.length, data.subarray(i * 1024, (i + 1) * 1024))))
    raw.write(fragments(1, body, true))
    await waitFor(() => got.length === 1, 5000, 'the first message')
    expect(Buffer.compare(got[0]!.data, body)).toBe(0)
    // The next message on channel 1 starts in a buffer as large as the last one: no doubling copies.
    raw.write(fragments(1, body.subarray(0, 2048), false))
    await waitFor(() => conn.status().channels[0]!.bytesReceived >= 66 * 1024, 5000, 'two fragments')
    expect(conn.status().channels[0]!.recvBufferBytes).toBe(65536)
    // Channel 2 has no history: it starts at recvBufferCapacity.
    raw.write(fragments(2, body.subarray(0, 1024), false))
    await waitFor(() => conn.status().channels[1]!.recvBufferBytes > 0, 5000, 'channel 2 fragment')
    expect(conn.status().channels[1]!.recvBufferBytes).toBe(4096)
    expect(conn.status().reassemblyBytes).toBe(65536 + 4096)
    // A hint the budget cannot afford falls back to what the fragments need.
    const st2 = (await facingRaw([{ id: 1, priority: 1, recvBufferCapacity: 4096, recvMessageCapacity: 200_000 }], { maxReassemblyBytes: 70_000 }))
    const got2 = collectMessages(st2[0])
    st2[1].write(fragments(1, body, true))
    await waitFor(() => got2.length === 1, 5000, 'the first message (second connection)')
    st2[1].write(fragments(1, body.subarray(0, 1024), false))
    await waitFor(() => st2[0].status().channels[0]!.recvBufferBytes > 0, 5000, 'a fragment (second connection)')
    expect(st2[0].status().channels[0]!.recvBufferBytes).toBe(65536)
    st2[1].write(fragments(1, patternBytes(65536, 6), true))
    await waitFor(() => got2.length === 2, 5000, 'the second message (second connection)')
    expect(got2[1]!.data.length).toBe(1024 + 65536)
    expect(st2[0].status().reassemblyBytes).toBe(0)
  })

  it('hands out a one-packet message as a view of its read chunk only when it is at least 1/8 of it', async () => {
    // A stream whose read chunks we make: a view must share the chunk's memory, a copy must not.
    const chunks: Buffer[] = []
    const stream = new Duplex({ read () {}, write (_c, _e, cb) { cb() } })
    const conn = new MConnection(stream, { channels: [{ id: 1, priority: 1 }] })
    open.push(conn)
    const got = collectMessages(conn)
    const feed = (parts: Uint8Array[]): void => {
      // Each chunk its own memory, as a socket read is (Buffer.concat may use the shared pool).
      const joined = Buffer.concat(parts)
      const chunk = Buffer.from(new ArrayBuffer(joined.length))
      joined.copy(chunk)
      chunks.push(chunk)
      stream.push(chunk)
    }
    const big = patternBytes(900, 1)
    const small = patternBytes(100, 2)
    feed([encodeDelimitedPacketMsg(1, true, big), encodeDelimitedPacketMsg(1, true, small)])
    // Eight more messages in the chunk: 900 (or 1000) bytes are now less than 1/8 of its 9,008 bytes.
    feed([encodeDelimitedPacketMsg(1, true, big), ...Array.from({ length: 8 }, () => encodeDelimitedPacketMsg(1, true, new Uint8Array(1000).fill(9)))])
    await waitFor(() => got.length === 11, 5000, 'eleven messages')
    expect(got.map(m => m.data.length)).toEqual([900, 100, 900, ...Array(8).fill(1000)])
    expect(Buffer.compare(got[0]!.data, big)).toBe(0)
    expect(Buffer.compare(got[1]!.data, small)).toBe(0)
    expect(Buffer.compare(got[2]!.data, big)).toBe(0)
    expect(got[0]!.data.buffer).toBe(chunks[0]!.buffer) // 900 of 1,024 bytes: a view
    expect(got[1]!.data.buffer).not.toBe(chunks[0]!.buffer) // 100 bytes: copied
    expect(got[2]!.data.buffer).not.toBe(chunks[1]!.buffer) // 900 of 9,008: copied
    expect(got[3]!.data.buffer).not.toBe(chunks[1]!.buffer)
    expect(got[3]!.data.every(b => b === 9)).toBe(true)
    for (const m of got) expect(m.data.buffer.byteLength).toBeLessThanOrEqual(Math.max(8 * m.data.length, 8192))
  })

  it('closes with ERR_REASSEMBLY_BUDGET when unfinished messages on several channels pass the per-connection budget', async () => {
    const [conn, raw] = await facingRaw([{ id: 1, priority: 1, recvMessageCapacity: 10_000 }, { id: 2, priority: 1, recvMessageCapacity: 10_000 }], { maxReassemblyBytes: 6000 })
    for (let i = 0; i < 4; i++) raw.write(encodeDelimitedPacketMsg(1, false, new Uint8Array(1000)))
    await waitFor(() => conn.status().reassemblyBytes >= 4000, 5000, 'channel 1 holding 4000 bytes')
    for (let i = 0; i < 4; i++) raw.write(encodeDelimitedPacketMsg(2, false, new Uint8Array(1000)))
    const [err] = await nextEvent<[Error]>(conn, 'close')
    expect(err).toMatchObject({ code: 'ERR_REASSEMBLY_BUDGET', channelId: 2 })
  })

  it('reports the peer closing as ERR_CONNECTION_CLOSED, with the shared stackless reason (no Error built per close)', async () => {
    const [conn, raw] = await facingRaw(three)
    raw.end()
    const [err] = await nextEvent<[Error]>(conn, 'close')
    expect(err).toMatchObject({ code: 'ERR_CONNECTION_CLOSED' })
    expect(err).toBe(PEER_CLOSED)
    const [conn2, raw2] = await facingRaw(three)
    raw2.destroy()
    expect((await nextEvent<[Error]>(conn2, 'close'))[0]).toBe(PEER_CLOSED)
    expect(Object.isFrozen(PEER_CLOSED)).toBe(true)
  })

  it('send and trySend refuse unknown channels, full queues, timeouts and closed connections', async () => {
    const [a, b] = await pair([{ id: 1, priority: 1, sendQueueCapacity: 1 }])
    b.pause()
    expect(await a.send(9, Uint8Array.of(1))).toBe(false)
    expect(a.trySend(9, Uint8Array.of(1))).toBe(false)
    // Fill the socket until the writer blocks; then the one-slot queue stays full.
    const big = new Uint8Array(1 << 20)
    while (a.trySend(1, big) || (await a.send(1, big, { timeout: 100 }))) { /* fill */ }
    expect(a.canSend(1)).toBe(false)
    expect(a.trySend(1, Uint8Array.of(1))).toBe(false)
    expect(await a.send(1, Uint8Array.of(1), { timeout: 30 })).toBe(false)
    const ac = new AbortController()
    const aborted = a.send(1, Uint8Array.of(1), { signal: ac.signal, timeout: 10_000 })
    ac.abort()
    expect(await aborted).toBe(false)
    const waiting = a.send(1, Uint8Array.of(1), { timeout: 10_000 })
    a.close()
    expect(await waiting).toBe(false)
    expect(await a.send(1, Uint8Array.of(1))).toBe(false)
    expect(a.trySend(1, Uint8Array.of(1))).toBe(false)
  })

  it('a waiting send is queued as soon as room appears, in order', async () => {
    const [a, b] = await pair([{ id: 1, priority: 1, sendQueueCapacity: 1 }])
    const got = collectMessages(b)
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => a.send(1, Buffer.from(`m${i}`))))
    expect(results.every(Boolean)).toBe(true)
    await waitFor(() => got.length === 50)
    expect(got.map(m => m.data.toString())).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`))
  })

  it('pause() stops delivery until resume(), then everything arrives in order', async () => {
    const [b, raw] = await facingRaw([{ id: 1, priority: 1, sendQueueCapacity: 100 }])
    const got: string[] = []
    b.on('message', (_ch, data) => { got.push(data.toString()); if (got.length === 1) b.pause() })
    // Twenty messages in one write: b reads them in one chunk and decodes it in one go, so once
    // b has counted those bytes as received, everything it was going to deliver has been delivered.
    const bytes = Buffer.concat(Array.from({ length: 20 }, (_, i) => encodeDelimitedPacketMsg(1, true, Buffer.from(`m${i}`))))
    raw.write(bytes)
    await waitFor(() => b.status().bytesReceived >= bytes.length)
    expect(got).toEqual(['m0'])
    b.resume()
    await waitFor(() => got.length === 20)
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`))
  })

  it('stop() delivers everything queued, then closes both ends', async () => {
    const [a, b] = await pair([{ id: 1, priority: 1, sendQueueCapacity: 500 }, { id: 2, priority: 2, sendQueueCapacity: 500 }])
    const got = collectMessages(b)
    let n = 0
    for (let i = 0; i < 300; i++) {
      if (a.trySend(1 + (i % 2), patternBytes(3000, i))) n++
    }
    expect(n).toBe(300)
    const bClosed = nextEvent<[Error | undefined]>(b, 'close')
    await a.stop()
    expect(a.isClosed).toBe(true)
    expect(await a.send(1, Uint8Array.of(1))).toBe(false)
    expect(got.length).toBe(300)
    expect(got.every((m, i) => m.data.length === 3000)).toBe(true)
    const [reason] = await bClosed
    expect(reason).toMatchObject({ code: 'ERR_CONNECTION_CLOSED' })
  })

  it('honours a send rate limit (a lower bound on elapsed time, not a speed assertion)', async () => {
    const rate = 400_000
    const [a, b] = await pair([{ id: 1, priority: 1, sendQueueCapacity: 100 }], { sendRate: rate }, {})
    const got = collectMessages(b)
    const t0 = performance.now()
    for (let i = 0; i < 20; i++) expect(await a.send(1, new Uint8Array(10_000))).toBe(true)
    await waitFor(() => got.length === 20)
    const elapsed = performance.now() - t0
    // 200 kB at 400 kB/s with a 40 kB burst cannot finish in under (200k - 40k) / 400k = 400 ms.
    expect(elapsed).toBeGreaterThanOrEqual(380)
    expect(a.status().bytesSent).toBeGreaterThan(200_000)
  })

  it('honours a receive rate limit by pausing reads', async () => {
    const rate = 400_000
    const [a, b] = await pair([{ id: 1, priority: 1, sendQueueCapacity: 100 }], {}, { recvRate: rate })
    const got = collectMessages(b)
    const t0 = performance.now()
    for (let i = 0; i < 20; i++) a.trySend(1, new Uint8Array(10_000))
    await waitFor(() => got.length === 20)
    expect(performance.now() - t0).toBeGreaterThanOrEqual(380)
  })

  it('validates options with messages that name the option', () => {
    const s = new PassThrough()
    // No channels is allowed (a node with no reactors still keeps its connections alive).
    new MConnection(s, { channels: [] }).close()
    expect(() => new MConnection(s, { channels: [{ id: 1, priority: 0 }] })).toThrow(/priority/)
    expect(() => new MConnection(s, { channels: [{ id: 256, priority: 1 }] })).toThrow(/0–255/)
    expect(() => new MConnection(s, { channels: [{ id: 1, priority: 1 }, { id: 1, priority: 2 }] })).toThrow(/duplicate/)
    expect(() => new MConnection(s, { channels: [{ id: 1, priority: 1 }], pingInterval: 10, pongTimeout: 10 })).toThrow(/pongTimeout/)
    expect(() => new MConnection(s, { channels: [{ id: 1, priority: 1 }], sendRate: -1 })).toThrow(/sendRate/)
  })

  it('computes its read limit from its channel ids (0x80 and up take a longer varint)', () => {
    const s = new PassThrough()
    const c1 = new MConnection(s, { channels: [{ id: 0x7f, priority: 1 }] })
    const c2 = new MConnection(s, { channels: [{ id: 0x80, priority: 1 }] })
    expect(c1.maxPacketSize).toBe(1034)
    expect(c2.maxPacketSize).toBe(1035)
    c1.close(); c2.close()
  })
})
