import { EventEmitter } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { waitFor, waitForEvent } from '@switchyard/testing'
import { MessageStream, type WebSocketLike } from '@switchyard/transport-ws'

/** The browser's WebSocket surface, driven by the test: no pause, no send callback, no terminate. */
class FakeBrowserSocket extends EventEmitter implements WebSocketLike {
  binaryType = 'blob'
  bufferedAmount = 0
  readyState = 1
  readonly sent: Uint8Array[] = []
  closedWith: number | undefined
  send (data: Uint8Array): void { this.sent.push(Uint8Array.from(data)); this.bufferedAmount += data.length }
  close (code?: number): void { this.closedWith = code; this.readyState = 3 }
  addEventListener (type: string, l: (e: any) => void): void { this.on(type, l) }
  removeEventListener (type: string, l: (e: any) => void): void { this.off(type, l) }
}

const servers: WebSocketServer[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) {
    for (const c of s.clients) c.terminate()
    await new Promise(resolve => s.close(resolve))
  }
})

describe('MessageStream over the browser WebSocket interface', () => {
  it('asks for ArrayBuffers, cuts writes into messages of at most sendMessageSize, and pushes received bytes in order', async () => {
    const ws = new FakeBrowserSocket()
    const stream = new MessageStream(ws, { maxMessageSize: 100, sendMessageSize: 10, maxBufferedAmount: 1000 })
    expect(ws.binaryType).toBe('arraybuffer')
    stream.write(Buffer.from('abcdefghijklmnopqrstuvwxy'))
    await waitFor(() => ws.sent.length === 3, { what: 'three messages' })
    expect(ws.sent.map(m => Buffer.from(m).toString())).toEqual(['abcdefghij', 'klmnopqrst', 'uvwxy'])
    const got: Buffer[] = []
    stream.on('data', (b: Buffer) => got.push(b))
    ws.emit('message', { data: new Uint8Array([1, 2, 3]).buffer })
    ws.emit('message', { data: new Uint8Array([4]).buffer })
    await waitFor(() => got.length === 2, { what: 'both messages' })
    expect(Buffer.concat(got)).toEqual(Buffer.from([1, 2, 3, 4]))
  })

  it('holds the write callback while bufferedAmount is over the bound, and releases it once the socket drained', async () => {
    const ws = new FakeBrowserSocket()
    const stream = new MessageStream(ws, { maxMessageSize: 100, sendMessageSize: 64, maxBufferedAmount: 100, pollInterval: 1 })
    let done = 0
    stream.write(Buffer.alloc(64), () => { done++ })
    await waitFor(() => done === 1, { what: 'the first write (under the bound)' })
    stream.write(Buffer.alloc(64), () => { done++ }) // 128 buffered now: over the bound
    stream.write(Buffer.alloc(64), () => { done++ })
    await waitFor(() => ws.sent.length === 2, { what: 'the second send' })
    // The third write is not even sent while the socket holds too much.
    await new Promise(resolve => setImmediate(resolve))
    expect(ws.sent.length).toBe(2)
    expect(done).toBe(1)
    ws.bufferedAmount = 40 // the network took most of it: the second write completes, the third is sent
    await waitFor(() => done === 2 && ws.sent.length === 3, { what: 'the second write to complete' })
    ws.bufferedAmount = 0
    await waitFor(() => done === 3, { what: 'the third write to complete' })
  })

  it('a text message is a protocol error (ERR_WS_PROTOCOL)', async () => {
    const ws = new FakeBrowserSocket()
    const stream = new MessageStream(ws, { maxMessageSize: 100, sendMessageSize: 10, maxBufferedAmount: 1000 })
    const failed = waitForEvent<[Error]>(stream, 'error')
    ws.emit('message', { data: 'hello' })
    expect((await failed)[0]).toMatchObject({ code: 'ERR_WS_PROTOCOL' })
    expect(ws.closedWith).toBe(1011)
  })

  it('a message over maxMessageSize is ERR_WS_MESSAGE_TOO_LARGE and closes with 1009', async () => {
    const ws = new FakeBrowserSocket()
    const stream = new MessageStream(ws, { maxMessageSize: 100, sendMessageSize: 10, maxBufferedAmount: 1000 })
    const failed = waitForEvent<[Error]>(stream, 'error')
    ws.emit('message', { data: new ArrayBuffer(101) })
    expect((await failed)[0]).toMatchObject({ code: 'ERR_WS_MESSAGE_TOO_LARGE', limit: 100 })
    expect(ws.closedWith).toBe(1009)
  })

  it('without a way to pause the socket, received bytes beyond maxReceiveBuffer are ERR_WS_RECEIVE_OVERFLOW', async () => {
    const ws = new FakeBrowserSocket()
    const stream = new MessageStream(ws, { maxMessageSize: 100_000, sendMessageSize: 10, maxBufferedAmount: 1000, maxReceiveBuffer: 200_000 })
    const failed = waitForEvent<[Error]>(stream, 'error')
    // Nobody reads: the readable buffer fills past its high-water mark, then past the bound.
    for (let i = 0; i < 5 && !stream.destroyed; i++) ws.emit('message', { data: new ArrayBuffer(100_000) })
    expect((await failed)[0]).toMatchObject({ code: 'ERR_WS_RECEIVE_OVERFLOW' })
  })
})

describe('MessageStream over ws (real sockets)', () => {
  it('keeps bufferedAmount within the bound while the receiver does not read, and delivers every byte once it does', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
    servers.push(server)
    await waitForEvent(server, 'listening')
    const received: Buffer[] = []
    let receiver: WebSocket | undefined
    server.on('connection', s => {
      receiver = s
      s.pause() // stop reading: the client's socket and then its WebSocket fill up
      s.on('message', (m: Buffer) => received.push(m))
    })
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as { port: number }).port}`, { perMessageDeflate: false })
    await waitForEvent(client, 'open')
    const max = 256 * 1024
    let maxSeen = 0
    const stream = new MessageStream(client as unknown as WebSocketLike, {
      maxMessageSize: 1 << 20,
      sendMessageSize: 64 * 1024,
      maxBufferedAmount: max,
      sendWithCallback: (data, done) => { client.send(data, { binary: true }, done); maxSeen = Math.max(maxSeen, client.bufferedAmount) }
    })
    stream.on('error', () => {})
    const chunk = Buffer.alloc(64 * 1024)
    const total = 512 // 32 MiB, far beyond the kernel's socket buffers
    let completed = 0
    for (let i = 0; i < total; i++) {
      const c = Buffer.from(chunk.fill(i & 0xff))
      stream.write(c, () => { completed++ })
    }
    await waitFor(() => client.bufferedAmount > max, { what: 'the WebSocket to hold more than the bound', timeoutMs: 15_000 })
    expect(completed).toBeLessThan(total)
    receiver!.resume()
    await waitFor(() => completed === total, { what: 'every write to complete', timeoutMs: 30_000 })
    await waitFor(() => received.reduce((n, b) => n + b.length, 0) === total * chunk.length, { what: 'every byte at the receiver', timeoutMs: 30_000 })
    const all = Buffer.concat(received)
    for (let i = 0; i < total; i++) expect(all[i * chunk.length]).toBe(i & 0xff)
    // One message may cross the bound; nothing queues beyond that, even when writes were batched.
    expect(maxSeen).toBeLessThanOrEqual(max + 64 * 1024)
    stream.destroy()
  })
})

describe('MessageStream closing', () => {
  it('a normal close delivers what was received before it, then ends and closes the stream', async () => {
    const ws = new FakeBrowserSocket()
    const stream = new MessageStream(ws, { maxMessageSize: 100, sendMessageSize: 10, maxBufferedAmount: 1000 })
    // Nobody reads yet: the bytes wait in the stream when the close arrives.
    ws.emit('message', { data: new Uint8Array([9, 8, 7]).buffer })
    ws.readyState = 3
    ws.emit('close', { code: 1000, reason: '' })
    expect(stream.destroyed).toBe(false)
    const got: Buffer[] = []
    stream.on('data', (b: Buffer) => got.push(b))
    await waitForEvent(stream, 'close')
    expect(Buffer.concat(got)).toEqual(Buffer.from([9, 8, 7]))
  })

  it('an abnormal close is ERR_WS_CLOSED with its code; 1009 from the peer is ERR_WS_MESSAGE_TOO_LARGE', async () => {
    const a = new FakeBrowserSocket()
    const sa = new MessageStream(a, { maxMessageSize: 100, sendMessageSize: 10, maxBufferedAmount: 1000 })
    const ea = waitForEvent<[Error]>(sa, 'error')
    a.readyState = 3
    a.emit('close', { code: 1006, reason: '' })
    expect((await ea)[0]).toMatchObject({ code: 'ERR_WS_CLOSED', closeCode: 1006 })
    const b = new FakeBrowserSocket()
    const sb = new MessageStream(b, { maxMessageSize: 100, sendMessageSize: 10, maxBufferedAmount: 1000 })
    const eb = waitForEvent<[Error]>(sb, 'error')
    b.readyState = 3
    b.emit('close', { code: 1009, reason: 'too big' })
    expect((await eb)[0]).toMatchObject({ code: 'ERR_WS_MESSAGE_TOO_LARGE' })
  })
})
