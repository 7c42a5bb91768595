/**
 * Hostile peers against a victim node: each violation drops only the guilty peer, with a typed
 * reason, within a second, while the victim's honest peers keep exchanging messages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { NodeKey, Reactor, Switch, channel, type Envelope, type Peer, type RemoveReason } from '@switchyard/p2p'
import { AddrBook, PexChannel, PexReactor } from '@switchyard/pex'
import { encodePexMessage, encodeUvarint } from '@switchyard/wire'
import { HostilePeer, scaled, waitFor, waitForEvent } from '@switchyard/testing'

const Chat = channel({ id: 0x60, priority: 5, sendQueueCapacity: 100, recvMessageCapacity: 64 * 1024 })

class Echo extends Reactor {
  readonly channels = [Chat]
  received = 0
  /** Big messages (the flood) are handled slowly: they wait here until the test releases them. */
  readonly stuck: Array<() => void> = []
  override receive ({ peer, message }: Envelope<Uint8Array>): void | Promise<void> {
    this.received++
    if (message.length > 1024) return new Promise<void>(resolve => this.stuck.push(resolve))
    if (Buffer.from(message).toString() === 'ping') peer.trySend(Chat, Buffer.from('pong'))
  }
}

let victim: Switch
let victimHost: string
let victimPort: number
const honest: Array<{ sw: Switch, echo: Echo }> = []
let ipCounter = 10

async function node (network: string, ip: string, opts: Record<string, unknown> = {}): Promise<{ sw: Switch, echo: Echo }> {
  const book = new AddrBook({ strict: false })
  const sw = new Switch({ nodeKey: NodeKey.generate(), network, listenAddress: `tcp://${ip}:0`, dialFromAddress: ip, addressBook: book, ...opts })
  const echo = new Echo()
  sw.addReactor('echo', echo)
  sw.addReactor('pex', new PexReactor({ book, ensurePeersPeriod: 3_600_000, startJitter: false, minReceiveRequestInterval: 10_000 }))
  await sw.start()
  return { sw, echo }
}

/** Both honest peers still get an answer from the victim, promptly. */
async function honestPeersStillWork (): Promise<void> {
  for (const h of honest) {
    const p = h.sw.peers.get(victim.nodeKey.id)
    expect(p, 'honest peer still connected').toBeDefined()
    const before = h.echo.received
    expect(p!.trySend(Chat, Buffer.from('ping'))).toBe(true)
    await waitFor(() => h.echo.received > before, { timeoutMs: 1000, what: 'a pong from the victim' }) // waitFor scales it
  }
}

async function attacker (): Promise<HostilePeer> {
  return await HostilePeer.connect(victimHost, victimPort, { localAddress: `127.0.130.${ipCounter++}` })
}

/** The victim's verdict on the attacker: the rejection (handshake) or removal (after it) reason. */
async function verdict (action: () => Promise<void> | void): Promise<{ code: string, ms: number }> {
  const t0 = performance.now()
  const removed = new Promise<string>(resolve => {
    const onRemove = (_p: Peer, reason: RemoveReason): void => { cleanup(); resolve(reason?.code ?? 'graceful') }
    const onReject = (r: { error: { code: string } }): void => { cleanup(); resolve(r.error.code) }
    const cleanup = (): void => { victim.off('peer:remove', onRemove); victim.off('peer:rejected', onReject) }
    victim.on('peer:remove', onRemove)
    victim.on('peer:rejected', onReject)
  })
  await action()
  const code = await Promise.race([removed, new Promise<string>((_r, reject) => setTimeout(() => reject(new Error(`no verdict within ${scaled(3000)} ms`)), scaled(3000)))])
  return { code, ms: performance.now() - t0 }
}

beforeAll(async () => {
  const v = await node('victim-net', '127.0.131.1', { handshakeTimeout: 500, maxPendingHandshakes: 64 })
  victim = v.sw
  const [, hp] = victim.address.split('@') as [string, string]
  victimHost = hp.split(':')[0]!
  victimPort = Number(hp.split(':')[1])
  for (const ip of ['127.0.131.2', '127.0.131.3']) {
    const h = await node('victim-net', ip)
    await h.sw.dial(victim.address)
    honest.push(h)
  }
  await waitFor(() => victim.peers.size === 2)
})

afterAll(async () => { await Promise.all([victim.stop(), ...honest.map(async h => { await h.sw.stop() })]) })

describe('hostile peers', () => {
  it('slowloris: a handshake trickled one byte at a time is cut off by the handshake timeout', async () => {
    const a = await attacker()
    const v = await verdict(() => { a.trickle(100) })
    expect(v.code).toBe('ERR_HANDSHAKE_TIMEOUT')
    await a.closed
    await honestPeersStillWork()
  })

  it('garbage instead of a key: refused at once, or cut off by the handshake timeout', async () => {
    // 0xff… is an over-long varint: refused as soon as it is read.
    const a = await attacker()
    const v = await verdict(() => { a.sendRaw(Buffer.alloc(64, 0xff)) })
    expect(v.code).toBe('ERR_BAD_EPHEMERAL_KEY')
    expect(v.ms).toBeLessThan(scaled(1000))
    // An HTTP request reads as a 71-byte message ('G') that never completes: the deadline ends it.
    const b = await attacker()
    const w = await verdict(() => { b.sendRaw(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')) })
    expect(w.code).toBe('ERR_HANDSHAKE_TIMEOUT')
    expect(w.ms).toBeLessThan(scaled(1000))
    await honestPeersStillWork()
  })

  it('an oversized length prefix is refused before anything is allocated', async () => {
    const a = await attacker()
    const v = await verdict(() => { a.sendRaw(encodeUvarint(2 ** 31)) })
    expect(v.code).toBe('ERR_BAD_EPHEMERAL_KEY')
    expect(v.ms).toBeLessThan(scaled(1000))
    await honestPeersStillWork()
  })

  it('a replayed frame and a tampered frame end the connection (ERR_FRAME_AUTH)', async () => {
    for (const attack of ['replay', 'tamper'] as const) {
      const a = await attacker()
      await a.handshake({ network: 'victim-net' })
      await waitFor(() => victim.peers.size === 3)
      // Frame 1 is the sealed AuthSigMessage (frame 0 was the plaintext key message).
      const v = await verdict(() => { attack === 'replay' ? a.replayFrame(1) : a.tamperFrame(1) })
      expect(v.code).toBe('ERR_FRAME_AUTH')
      expect(v.ms).toBeLessThan(scaled(1000))
      a.destroy()
    }
    await honestPeersStillWork()
  })

  it('a NodeInfo claiming another node\'s ID is refused (ERR_PEER_ID_MISMATCH)', async () => {
    const a = await attacker()
    const v = await verdict(async () => { await a.handshake({ network: 'victim-net', nodeInfo: { nodeId: honest[0]!.sw.nodeKey.id } }).catch(() => {}) })
    expect(v.code).toBe('ERR_PEER_ID_MISMATCH')
    await honestPeersStillWork()
  })

  it('flooding PEX requests gets the attacker dropped (ERR_PEX_TOO_SOON)', async () => {
    const a = await attacker()
    await a.handshake({ network: 'victim-net' })
    await waitFor(() => victim.peers.size === 3)
    const v = await verdict(() => { for (let i = 0; i < 50; i++) a.mconn!.trySend(PexChannel.id, encodePexMessage({ type: 'request' })) })
    expect(v.code).toBe('ERR_PEX_TOO_SOON')
    expect(v.ms).toBeLessThan(scaled(1000))
    a.destroy()
    await honestPeersStillWork()
  })

  it('unsolicited and oversized PexAddrs get the attacker dropped', async () => {
    const a = await attacker()
    await a.handshake({ network: 'victim-net' })
    await waitFor(() => victim.peers.size === 3)
    const few = encodePexMessage({ type: 'addrs', addrs: [{ id: 'ab'.repeat(20), ip: '8.8.8.8', port: 1 }] })
    expect((await verdict(() => { a.mconn!.trySend(PexChannel.id, few) })).code).toBe('ERR_PEX_UNSOLICITED')
    a.destroy()
    const b = await attacker()
    await b.handshake({ network: 'victim-net' })
    await waitFor(() => victim.peers.size === 3)
    const huge = encodePexMessage({ type: 'addrs', addrs: Array.from({ length: 2000 }, (_, i) => ({ id: randomBytes(20).toString('hex'), ip: `8.8.${i >> 8}.${i & 255}`, port: 26656 })) })
    expect(huge.length).toBeGreaterThan(64_000)
    expect((await verdict(() => { b.mconn!.trySend(PexChannel.id, huge) })).code).toBe('ERR_CHANNEL_MESSAGE_TOO_LARGE')
    b.destroy()
    await honestPeersStillWork()
  })

  it('a peer flooding a channel at full speed is back-pressured; the others are not slowed', async () => {
    // The victim's reactor takes its time over big messages. Its inbound queue for the flooder
    // fills (maxInboundQueue, 64), the victim stops reading from that peer alone, TCP fills, and
    // the flooder's own send queue fills until it can queue nothing more.
    const a = await attacker()
    await a.handshake({ network: 'victim-net' })
    await waitFor(() => victim.peers.size === 3)
    const onVictim = [...victim.peers.values()].find(p => !honest.some(h => h.sw.nodeKey.id === p.id))!
    const echo = victim.getReactor<Echo>('echo')!
    const big = Buffer.alloc(60 * 1024, 7)
    let queued = 0
    let refused = 0
    const flood = setInterval(() => { for (let i = 0; i < 50; i++) a.mconn!.trySend(0x60, big) ? queued++ : refused++ }, 1)
    try {
      const delivered = (): number => onVictim.status().connection.channels.find(c => c.id === 0x60)!.messagesReceived
      await waitFor(() => delivered() >= 64 && refused > 0, { timeoutMs: 10_000, what: 'the victim\'s queue for the flooder to fill' })
      const before = delivered()
      await honestPeersStillWork()
      await honestPeersStillWork()
      // Paused: nothing more from the flooder was read while the honest peers were served.
      expect(delivered()).toBe(before)
      expect(before).toBeLessThanOrEqual(64 + 2) // the queue, the one being handled, one decoded as the pause took hold
      expect(echo.stuck.length).toBe(1) // one message at a time for that peer
      expect(queued).toBeGreaterThan(before) // the rest wait on the flooder's side, not the victim's
    } finally {
      clearInterval(flood)
      a.destroy()
      for (const release of echo.stuck.splice(0)) release()
    }
  })

  it('many connections from one IP: only the first is kept (duplicate IP)', async () => {
    const ip = `127.0.130.${ipCounter++}`
    const peers = await Promise.all(Array.from({ length: 8 }, async () => await HostilePeer.connect(victimHost, victimPort, { localAddress: ip })))
    const codes: string[] = []
    const onReject = (r: { error: { code: string } }): void => { codes.push(r.error.code) }
    victim.on('peer:rejected', onReject)
    await Promise.all(peers.map(async p => { await p.handshake({ network: 'victim-net' }).catch(() => {}) }))
    await waitFor(() => codes.filter(c => c === 'ERR_DUPLICATE_IP').length >= 7, { what: 'seven duplicate-IP refusals' })
    victim.off('peer:rejected', onReject)
    for (const p of peers) p.destroy()
    await honestPeersStillWork()
  })
})

describe('resource bounds', () => {
  it('1,000 stalled handshakes are capped while in flight and all reclaimed by the timeout', async () => {
    const before = process.memoryUsage().rss
    const sockets: HostilePeer[] = []
    let maxPending = 0
    for (let i = 0; i < 1000; i++) {
      const s = await HostilePeer.connect(victimHost, victimPort, { localAddress: `127.0.${140 + (i >> 7)}.${(i & 127) + 1}` })
      s.socket.resume() // read (and drop) what the victim sends, so we see it close
      sockets.push(s)
      maxPending = Math.max(maxPending, victim.transport.pendingHandshakes)
    }
    // At most maxPendingHandshakes (64 here) are held; the rest are closed at once.
    expect(maxPending).toBeLessThanOrEqual(64)
    await waitFor(() => victim.transport.pendingHandshakes === 0, { timeoutMs: 5000, what: 'all stalled handshakes to time out' })
    await waitFor(() => sockets.every(s => s.isClosed), { timeoutMs: 5000, what: 'every stalled socket to be closed' })
    const grewMB = (process.memoryUsage().rss - before) / 1e6
    // Both ends live in this process; the budget covers 1,000 socket pairs with room to spare.
    expect(grewMB).toBeLessThan(150)
    await honestPeersStillWork()
  }, 60_000)
})
