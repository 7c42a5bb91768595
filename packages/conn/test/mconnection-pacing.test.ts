import { afterEach, describe, expect, it } from 'vitest'
import type net from 'node:net'
import { Duplex } from 'node:stream'
import { MConnection, type ChannelDescriptor, type MConnectionOptions } from '@switchyard/conn'
import { LengthDelimitedDecoder, decodePacket, PONG_BYTES } from '@switchyard/wire'
import { nextEvent, patternBytes, socketPair, waitFor } from '../../../test/helpers.js'

const open: Array<MConnection | net.Socket> = []
afterEach(() => {
  for (const c of open.splice(0)) c instanceof MConnection ? c.close() : c.destroy()
})

const bulk: ChannelDescriptor[] = [{ id: 0x30, priority: 1, sendQueueCapacity: 64, recvMessageCapacity: 1 << 20 }]

async function facingRaw (opts: Partial<MConnectionOptions> = {}): Promise<[MConnection, net.Socket]> {
  const [sa, sb] = await socketPair()
  const conn = new MConnection(sa, { channels: bulk, ...opts })
  open.push(conn, sb)
  return [conn, sb]
}

/** Counts the packet types in what the raw peer reads (every byte must decode as a CometBFT Packet). */
function packetCounter (raw: net.Socket): { bytes: number, msg: number, ping: number } {
  const c = { bytes: 0, msg: 0, ping: 0 }
  const dec = new LengthDelimitedDecoder(1 << 16)
  raw.on('data', (d: Buffer) => {
    c.bytes += d.length
    dec.push(d, body => { const p = decodePacket(body); if (p.type === 'msg') c.msg++; else if (p.type === 'ping') c.ping++; return true })
  })
  return c
}

/** A reader's side of a socket whose read speed can be changed: a slow link or a busy peer. */
class ThrottledReader extends Duplex {
  /** Bytes per ms passed on; Infinity: as they come. */
  rate = Infinity
  constructor (private readonly socket: net.Socket) {
    super()
    socket.on('data', (chunk: Buffer) => {
      socket.pause()
      const pass = (): void => { this.push(chunk); socket.resume() }
      if (this.rate === Infinity) setImmediate(pass)
      else setTimeout(pass, chunk.length / this.rate)
    })
    socket.on('close', () => this.destroy())
  }

  override _read (): void {}
  override _write (chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void { this.socket.write(chunk, cb) }
  override _destroy (err: Error | null, cb: (err?: Error | null) => void): void { this.socket.destroy(); cb(err) }
}

/** A writer whose every write keeps its event loop busy `spinMs` first: a slow sealer, a tab. */
class SlowWriter extends Duplex {
  constructor (private readonly socket: net.Socket, private readonly spinMs: number) {
    super()
    socket.on('data', (chunk: Buffer) => { if (!this.push(chunk)) socket.pause() })
    socket.on('close', () => this.destroy())
  }

  override _read (): void { this.socket.resume() }
  override _write (chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const until = performance.now() + this.spinMs
    while (performance.now() < until) { /* busy, as sealing in JavaScript is */ }
    // Done at once, so that the next write() spins inside its caller as a SecretConnection's seal
    // does (the few MB written here need no back-pressure).
    this.socket.write(chunk)
    cb()
  }

  override _destroy (err: Error | null, cb: (err?: Error | null) => void): void { this.socket.destroy(); cb(err) }
}

describe('MConnection send pacing', () => {
  it('holds data at one window while a peer leaves its ping unanswered, and the pong timeout still drops it', async () => {
    const [conn, raw] = await facingRaw({ pingInterval: 300, pongTimeout: 200, pacing: { initialWindow: 64 * 1024 } })
    const seen = packetCounter(raw) // reads everything, answers nothing
    for (let i = 0; i < 48; i++) expect(conn.trySend(0x30, patternBytes(64 * 1024, i))).toBe(true)
    const [err] = await nextEvent<[Error]>(conn, 'close', 5000)
    expect(err).toMatchObject({ code: 'ERR_PONG_TIMEOUT' })
    // One window (plus the packet that crossed its edge and the ping), not the 3 MiB queued.
    expect(seen.bytes).toBeGreaterThan(60 * 1024)
    expect(seen.bytes).toBeLessThan(64 * 1024 + 4096)
    expect(seen.ping).toBe(1)
  })

  it('puts only ordinary CometBFT packets on the wire, and none but data with pacing off', async () => {
    const [paced, rawA] = await facingRaw()
    const a = packetCounter(rawA)
    rawA.on('data', () => { rawA.write(PONG_BYTES) }) // a pong for every chunk read is more than enough
    const [unpaced, rawB] = await facingRaw({ pacing: false })
    const b = packetCounter(rawB)
    for (let i = 0; i < 16; i++) {
      expect(await paced.send(0x30, patternBytes(64 * 1024, i))).toBe(true)
      expect(await unpaced.send(0x30, patternBytes(64 * 1024, i))).toBe(true)
    }
    await waitFor(() => a.msg === 16 * 64 && b.msg === 16 * 64, 10_000, 'all packets')
    expect(a.ping).toBeGreaterThan(0) // the pacer's probes: plain pings
    expect(b.ping).toBe(0)
    expect(paced.status().pacing?.pongs).toBeGreaterThan(0)
    expect(unpaced.status().pacing).toBeUndefined()
  })

  it('does not count the time a pong waited behind its own slow batches as round trip', async () => {
    const spinMs = 40
    const [sa, sb] = await socketPair()
    const a = new MConnection(new SlowWriter(sa, spinMs), { channels: bulk })
    const b = new MConnection(sb, { channels: bulk })
    open.push(a, b)
    let received = 0
    b.on('message', () => { received++ })
    for (let i = 0; i < 24; i++) expect(a.trySend(0x30, patternBytes(64 * 1024, i))).toBe(true)
    // Every pong here is read after one of our 40 ms writes, mostly while the next one runs: counted
    // as round trip, each would read as a 40 ms queue at a peer that reads at once.
    const rtts: number[] = []
    let pongs = 0
    await waitFor(() => {
      const p = a.status().pacing!
      if (p.pongs > pongs) { pongs = p.pongs; rtts.push(p.lastRttMs) }
      return pongs >= 6
    }, 20_000, 'six pongs')
    expect(rtts.length).toBeGreaterThanOrEqual(1)
    expect(Math.max(...rtts), `round trips counted: ${rtts.map(r => r.toFixed(1)).join(", ")}`).toBeLessThan(spinMs / 2)
    expect(a.status().pacing!.floorRttMs).toBeLessThan(spinMs / 2)
    await waitFor(() => received === 24, 20_000, 'every message')
  })

  it('shrinks the window behind a slow reader and grows it back once the reader keeps up', async () => {
    const [sa, sb] = await socketPair()
    const link = new ThrottledReader(sb)
    const a = new MConnection(sa, { channels: bulk, pacing: { targetDelayMs: 5 } })
    const b = new MConnection(link, { channels: bulk })
    open.push(a, b)
    let received = 0
    let intact = true
    b.on('message', (_ch, data) => {
      if (!data.equals(patternBytes(64 * 1024, received % 7))) intact = false
      received++
    })
    // A slow reader takes 500 bytes a ms (0.5 MB/s): our bytes, and pings, queue up in front of it.
    const slowReader = (on: boolean): void => { link.rate = on ? 500 : Infinity }
    let sent = 0
    let running = true
    const sender = (async () => {
      while (running) {
        if (!await a.send(0x30, patternBytes(64 * 1024, sent % 7), { timeout: 20_000 })) break
        sent++
      }
    })()
    await waitFor(() => a.status().pacing!.window >= 128 * 1024, 10_000, 'the window to open on a fast reader')
    slowReader(true)
    await waitFor(() => a.status().pacing!.window <= 16 * 1024, 10_000, 'the window to shrink behind the slow reader')
    const shrunk = a.status().pacing!.window
    slowReader(false)
    await waitFor(() => a.status().pacing!.window >= 128 * 1024, 10_000, 'the window to grow back')
    expect(a.status().pacing!.window).toBeGreaterThanOrEqual(8 * shrunk)
    running = false
    await sender
    expect(a.isClosed).toBe(false)
    await waitFor(() => received === sent, 10_000, 'every message')
    expect(intact).toBe(true)
  })
})
