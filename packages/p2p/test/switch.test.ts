import { afterEach, describe, expect, it } from 'vitest'
import {
  NetAddress, NodeKey, Reactor, Switch, channel, type Channel, type Envelope, type Peer, type RemoveReason
} from '@switchyard/p2p'
import { protoTypes } from '@switchyard/wire'
import { TestNetwork, scaled, waitFor, waitForEvent } from '@switchyard/testing'

const nets: TestNetwork[] = []
const switches: Switch[] = []
afterEach(async () => {
  await Promise.all([...nets.splice(0).map(async n => { await n.stop() }), ...switches.splice(0).map(async s => { await s.stop() })])
})

async function network (opts: Parameters<typeof TestNetwork.start>[0]): Promise<TestNetwork> {
  const n = await TestNetwork.start(opts)
  nets.push(n)
  return n
}

/** Records every call, in order, and every message. */
class Recorder extends Reactor {
  readonly channels: Array<Channel<any>>
  readonly calls: string[] = []
  readonly received: Array<{ from: string, channel: number, message: unknown }> = []
  readonly removed: Array<{ id: string, reason: RemoveReason }> = []
  constructor (...channels: Array<Channel<any>>) { super(); this.channels = channels }
  override initPeer (peer: Peer): void { this.calls.push(`init ${peer.id.slice(0, 6)} connected=${peer.isConnected}`) }
  override addPeer (peer: Peer): void { this.calls.push(`add ${peer.id.slice(0, 6)} connected=${peer.isConnected}`) }
  override removePeer (peer: Peer, reason: RemoveReason): void {
    this.calls.push(`remove ${peer.id.slice(0, 6)} connected=${peer.isConnected}`)
    this.removed.push({ id: peer.id, reason })
  }
  override receive (env: Envelope<any>): void { this.received.push({ from: env.peer.id, channel: env.channel.id, message: env.message }) }
}

/**
 * `dialer` dials `target`, which refuses it after the handshake: the dial may fail, or succeed and be
 * dropped at once, depending on who finishes the handshake first. Either way it ends unconnected.
 */
async function refusedBy (target: Switch, dialer: Switch): Promise<void> {
  await dialer.dial(target.address).catch(() => undefined)
  await waitFor(() => !dialer.peers.has(target.nodeKey.id), { what: 'the refused connection to close' })
}

const A = channel({ id: 0x40, priority: 5, sendQueueCapacity: 100 })
const B = channel({ id: 0x41, priority: 1, sendQueueCapacity: 100 })

describe('Switch', () => {
  it('runs the peer lifecycle in order: initPeer → connection start → addPeer; stop → removePeer', async () => {
    const net = await network({ size: 2, reactors: () => ({ rec: new Recorder(A) }), topology: 'line' })
    const rec0 = net.node(0).reactors.rec as Recorder
    const id1 = net.node(1).id.slice(0, 6)
    expect(rec0.calls).toEqual([`init ${id1} connected=false`, `add ${id1} connected=true`])
    const peer = net.node(0).switch.peers.get(net.node(1).id)!
    net.node(0).switch.stopPeerForError(peer, 'test says so')
    await waitFor(() => rec0.calls.length === 3)
    expect(rec0.calls[2]).toBe(`remove ${id1} connected=false`)
    expect(rec0.removed[0]!.reason).toMatchObject({ code: 'ERR_PEER_STOPPED', message: 'test says so' })
  })

  it('refuses a second reactor on a channel id already taken', () => {
    const sw = new Switch({ nodeKey: NodeKey.generate(), network: 'n' })
    sw.addReactor('one', new Recorder(A))
    expect(() => sw.addReactor('two', new Recorder(channel({ id: 0x40, priority: 1 })))).toThrow(expect.objectContaining({ code: 'ERR_CHANNEL_TAKEN' }))
    sw.addReactor('three', new Recorder(B))
    expect([...sw.nodeInfo.channels]).toEqual([0x40, 0x41])
  })

  it('routes every message to the reactor that owns its channel, typed by its protobuf type', async () => {
    const Addr = channel({ id: 0x42, priority: 1, sendQueueCapacity: 10, message: protoTypes.NetAddress as never })
    const net = await network({ size: 2, reactors: () => ({ a: new Recorder(A), b: new Recorder(B), c: new Recorder(Addr) }), topology: 'line' })
    const peer = net.node(0).switch.peers.get(net.node(1).id)!
    expect(await peer.send(A, Buffer.from('to a'))).toBe(true)
    expect(await peer.send(B, Buffer.from('to b'))).toBe(true)
    expect(await peer.send(Addr, { id: 'x', ip: '1.2.3.4', port: 5 } as never)).toBe(true)
    const r = net.node(1).reactors
    await waitFor(() => (r.a as Recorder).received.length === 1 && (r.b as Recorder).received.length === 1 && (r.c as Recorder).received.length === 1)
    expect(Buffer.from((r.a as Recorder).received[0]!.message as Uint8Array).toString()).toBe('to a')
    expect(Buffer.from((r.b as Recorder).received[0]!.message as Uint8Array).toString()).toBe('to b')
    expect((r.c as Recorder).received[0]!.message).toMatchObject({ ip: '1.2.3.4', port: 5 })
    expect((r.a as Recorder).received[0]!.from).toBe(net.node(0).id)
  })

  it('drops a peer that sends on a channel we do not have; other peers are not affected', async () => {
    const X = channel({ id: 0x43, priority: 1, sendQueueCapacity: 10 })
    const net = await network({
      size: 3,
      reactors: i => i === 1 ? { rec: new Recorder(A, X) } : { rec: new Recorder(A) },
      topology: [[1, 0], [2, 0]]
    })
    const hub = net.node(0)
    const bad = hub.switch.peers.get(net.node(1).id)!
    const good = net.node(2)
    // Node 1 has channel 0x43 and sends on it, bypassing the check that the remote advertises it.
    const toHub = net.node(1).switch.peers.get(hub.id)!
    toHub.trySendBytes(0x43, Buffer.from('not yours'))
    const [peer, reason] = await waitForEvent<[Peer, RemoveReason]>(hub.switch, 'peer:remove')
    expect(peer).toBe(bad)
    expect(reason).toMatchObject({ code: 'ERR_UNKNOWN_CHANNEL' })
    const goodPeer = good.switch.peers.get(hub.id)!
    expect(await goodPeer.send(A, Buffer.from('still fine'))).toBe(true)
    await waitFor(() => (hub.reactors.rec as Recorder).received.some(m => m.from === good.id))
    expect(hub.switch.peers.has(good.id)).toBe(true)
  })

  it('drops a peer whose message does not decode as the channel\'s type', async () => {
    const Typed = channel({ id: 0x44, priority: 1, sendQueueCapacity: 10, message: protoTypes.NetAddress as never })
    const net = await network({ size: 2, reactors: () => ({ rec: new Recorder(Typed) }), topology: 'line' })
    net.node(0).switch.peers.get(net.node(1).id)!.trySendBytes(0x44, Buffer.from([0xff, 0xff, 0xff]))
    const [, reason] = await waitForEvent<[Peer, RemoveReason]>(net.node(1).switch, 'peer:remove')
    expect(reason).toMatchObject({ code: 'ERR_MALFORMED_MESSAGE' })
  })

  it('refuses inbound peers over the limit at once; unconditional peers are exempt', async () => {
    const net = await network({ size: 4, reactors: () => ({ rec: new Recorder(A) }) })
    const hub = new Switch({ nodeKey: NodeKey.generate(), network: 'test-network', listenAddress: 'tcp://127.0.0.1:0', maxInboundPeers: 1, unconditionalPeerIds: [net.node(3).id], allowDuplicateIp: true })
    hub.addReactor('rec', new Recorder(A))
    await hub.start()
    switches.push(hub)
    await net.node(1).switch.dial(hub.address)
    const rejected = waitForEvent<[{ error: Error }]>(hub, 'peer:rejected')
    await refusedBy(hub, net.node(2).switch)
    expect((await rejected)[0].error).toMatchObject({ code: 'ERR_TOO_MANY_PEERS' })
    await net.node(3).switch.dial(hub.address)
    await waitFor(() => hub.peers.size === 2)
    expect(hub.numPeers()).toMatchObject({ inbound: 2, outbound: 0 })
  })

  it('redials a persistent peer after it drops (shortened reconnect timings)', async () => {
    const net = await network({ size: 1, reactors: () => ({ rec: new Recorder(A) }) })
    const target = net.node(0)
    const sw = new Switch({
      nodeKey: NodeKey.generate(), network: 'test-network', persistentPeers: [target.address], dialJitter: 0,
      reconnect: { interval: 20, jitter: 10, tries: 20 }
    })
    sw.addReactor('rec', new Recorder(A))
    switches.push(sw)
    await sw.start()
    await waitFor(() => sw.peers.has(target.id) && target.switch.peers.has(sw.nodeKey.id), { what: 'the first connection' })
    expect(sw.peers.get(target.id)!.persistent).toBe(true)
    // The target hangs up on us; we must come back.
    target.switch.stopPeerForError(target.switch.peers.get(sw.nodeKey.id)!, 'go away')
    await waitForEvent(sw, 'peer:remove')
    await waitForEvent<[Peer]>(sw, 'peer:add', { filter: p => p.id === target.id, timeoutMs: 5000 })
    expect(sw.peers.has(target.id)).toBe(true)
  })

  it('rejects ourselves and duplicate IDs', async () => {
    const net = await network({ size: 2, reactors: () => ({ rec: new Recorder(A) }), topology: 'line', switchOptions: () => ({ simultaneousConnectWindow: 0 }) })
    const [n0, n1] = [net.node(0), net.node(1)]
    await expect(n0.switch.dial(n0.address)).rejects.toMatchObject({ code: 'ERR_SELF_CONNECTION' })
    await expect(n0.switch.dial(n1.address)).rejects.toMatchObject({ code: 'ERR_DUPLICATE_PEER' })
    // A second node with node 0's key: the handshake itself detects the self-connection, both ways.
    const twin = new Switch({ nodeKey: n0.switch.nodeKey, network: 'test-network' })
    twin.addReactor('rec', new Recorder(A))
    switches.push(twin)
    await twin.start()
    const rejectedSelf = waitForEvent<[{ error: Error }]>(n0.switch, 'peer:rejected')
    await expect(twin.transport.dial(NetAddress.parse(n0.address))).rejects.toMatchObject({ code: 'ERR_SELF_CONNECTION' })
    expect((await rejectedSelf)[0].error).toMatchObject({ code: 'ERR_SELF_CONNECTION' })
    // A second node with node 1's key, while node 1 is connected: a duplicate ID.
    const clone = new Switch({ nodeKey: n1.switch.nodeKey, network: 'test-network', listenAddress: 'tcp://127.0.0.77:0' })
    clone.addReactor('rec', new Recorder(A))
    switches.push(clone)
    await clone.start()
    const rejected = waitForEvent<[{ error: Error }]>(n0.switch, 'peer:rejected')
    await refusedBy(n0.switch, clone)
    expect((await rejected)[0].error).toMatchObject({ code: 'ERR_DUPLICATE_PEER' })
  })

  it('refuses a second peer from the same IP unless duplicate IPs are allowed', async () => {
    const net = await network({ size: 3, reactors: () => ({ rec: new Recorder(A) }), ip: i => i === 0 ? '127.0.99.1' : '127.0.99.2' })
    await net.node(1).switch.dial(net.node(0).address)
    const rejected = waitForEvent<[{ error: Error }]>(net.node(0).switch, 'peer:rejected')
    await refusedBy(net.node(0).switch, net.node(2).switch)
    expect((await rejected)[0].error).toMatchObject({ code: 'ERR_DUPLICATE_IP' })
    const lenient = await network({ size: 3, reactors: () => ({ rec: new Recorder(A) }), ip: i => i === 0 ? '127.0.98.1' : '127.0.98.2', switchOptions: () => ({ allowDuplicateIp: true }) })
    await lenient.node(1).switch.dial(lenient.node(0).address)
    await lenient.node(2).switch.dial(lenient.node(0).address)
    await waitFor(() => lenient.node(0).switch.peers.size === 2)
  })

  it('applies the operator\'s IP and ID filters', async () => {
    let banned = ''
    const net = await network({
      size: 3,
      reactors: () => ({ rec: new Recorder(A) }),
      switchOptions: i => i === 0
        ? { filters: { ip: async ip => { if (ip === '127.0.97.3') throw new Error(`${ip} is banned`) }, id: id => { if (id === banned) throw new Error('id banned') } } }
        : {},
      ip: i => `127.0.97.${i + 2}`
    })
    banned = net.node(2).id
    const rejected = waitForEvent<[{ error: Error }]>(net.node(0).switch, 'peer:rejected')
    await expect(net.node(1).switch.dial(net.node(0).address)).rejects.toBeDefined()
    expect((await rejected)[0].error).toMatchObject({ code: 'ERR_FILTERED', message: /127\.0\.97\.3 is banned/ })
    const rejected2 = waitForEvent<[{ error: Error }]>(net.node(0).switch, 'peer:rejected')
    await refusedBy(net.node(0).switch, net.node(2).switch)
    expect((await rejected2)[0].error).toMatchObject({ code: 'ERR_FILTERED', message: /id banned/ })
    expect(net.node(0).switch.peers.size).toBe(0)
  })

  it('broadcasts to 20 peers and reports each result', async () => {
    const net = await network({ size: 21, reactors: () => ({ rec: new Recorder(A) }), topology: 'star' })
    const hub = net.node(0).switch
    expect(hub.peers.size).toBe(20)
    const results = await hub.broadcast(A, Buffer.from('to everyone'))
    expect(results.size).toBe(20)
    expect([...results.values()].every(Boolean)).toBe(true)
    await waitFor(() => net.nodes.slice(1).every(n => (n.reactors.rec as Recorder).received.length === 1))
  })

  it('a graceful stop of a node is seen as removePeer by its peers within 1 s (inbound and outbound peers)', async () => {
    const net = await network({ size: 3, reactors: () => ({ rec: new Recorder(A) }), topology: 'star' })
    const hub = net.node(0)
    const t1 = performance.now()
    const seenBoth = Promise.all([1, 2].map(async i => await waitForEvent<[Peer]>(net.node(i).switch, 'peer:remove', { filter: p => p.id === hub.id, timeoutMs: 1000 })))
    await hub.switch.stop()
    await seenBoth
    expect(performance.now() - t1).toBeLessThan(scaled(1000))
  })

  it('a graceful stop of a leaf is seen by the hub within 1 s', async () => {
    const net = await network({ size: 3, reactors: () => ({ rec: new Recorder(A) }), topology: 'star' })
    const leaving = net.node(1)
    const t0 = performance.now()
    const seen = waitForEvent<[Peer]>(net.node(0).switch, 'peer:remove', { filter: p => p.id === leaving.id, timeoutMs: 1000 })
    await leaving.switch.stop()
    await seen
    expect(performance.now() - t0).toBeLessThan(scaled(1000))
    expect(net.node(0).switch.peers.has(net.node(2).id)).toBe(true)
  })

  it('a slow async reactor on one peer does not delay another peer\'s messages, and its queue is bounded', async () => {
    let release!: () => void
    const gate = new Promise<void>(resolve => { release = resolve })
    class Slow extends Recorder {
      slowFrom = ''
      override async receive (env: Envelope<any>): Promise<void> {
        super.receive(env)
        if (env.peer.id === this.slowFrom) await gate
      }
    }
    const big = channel({ id: 0x40, priority: 5, sendQueueCapacity: 1000 })
    const net = await network({ size: 3, reactors: () => ({ rec: new Slow(big) }), topology: [[1, 0], [2, 0]], switchOptions: () => ({ maxInboundQueue: 8 }) })
    const hub = net.node(0)
    const slow = hub.reactors.rec as Slow
    slow.slowFrom = net.node(1).id
    const fromSlowPeer = net.node(1).switch.peers.get(hub.id)!
    // The slow peer floods: its messages pile up until the hub stops reading from it.
    for (let i = 0; i < 1000; i++) fromSlowPeer.trySend(big, Buffer.alloc(16 * 1024, i))
    const fast = net.node(2).switch.peers.get(hub.id)!
    for (let i = 0; i < 20; i++) expect(await fast.send(big, Buffer.from(`fast ${i}`))).toBe(true)
    await waitFor(() => slow.received.filter(m => m.from === net.node(2).id).length === 20, { what: 'the fast peer\'s messages' })
    // The slow peer's backlog on the hub stays bounded by the queue, not by what it sent.
    const slowSeen = slow.received.filter(m => m.from === net.node(1).id).length
    expect(slowSeen).toBeLessThanOrEqual(9)
    release()
    await waitFor(() => slow.received.filter(m => m.from === net.node(1).id).length === 1000, { timeoutMs: 15_000, what: 'the slow peer\'s backlog' })
  })

  it('offers a channel\'s messages as an async iterator, with back-pressure', async () => {
    const net = await network({ size: 2, reactors: () => ({ rec: new Recorder(A) }), topology: 'line' })
    const ac = new AbortController()
    const it = net.node(1).switch.messages(A, { signal: ac.signal, bufferSize: 4 })
    const peer = net.node(0).switch.peers.get(net.node(1).id)!
    for (let i = 0; i < 10; i++) await peer.send(A, Buffer.from(`m${i}`))
    const got: string[] = []
    for await (const env of it) {
      got.push(Buffer.from(env.message).toString())
      expect(env.peer.id).toBe(net.node(0).id)
      if (got.length === 10) break
    }
    expect(got).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`))
    ac.abort()
  })

  it('validates its options', () => {
    expect(() => new Switch({ nodeKey: NodeKey.generate(), network: 'n', maxInboundPeers: -1 })).toThrow(/maxInboundPeers/)
  })
})

describe('Switch: simultaneous dials', () => {
  it('two nodes dialing each other at once keep exactly one connection, the same one on both sides', async () => {
    for (let round = 0; round < 5; round++) {
      const net = await network({ size: 2, reactors: () => ({ rec: new Recorder(A) }) })
      const [a, b] = [net.node(0), net.node(1)]
      await Promise.allSettled([a.switch.dial(b.address), b.switch.dial(a.address)])
      // Settled: each side holds the connection dialed by the lower ID.
      await waitFor(() => a.switch.peers.get(b.id)?.outbound === (a.id < b.id) && b.switch.peers.get(a.id)?.outbound === (b.id < a.id), { what: 'one surviving connection' })
      const pa = a.switch.peers.get(b.id)!
      const pb = b.switch.peers.get(a.id)!
      expect(pa.outbound).toBe(!pb.outbound)
      // The survivor was dialed by the node with the lower ID.
      expect(pa.outbound).toBe(a.id < b.id)
      expect(await pa.send(A, Buffer.from('works'))).toBe(true)
      await waitFor(() => (b.reactors.rec as Recorder).received.length === 1)
    }
  })
})

describe('Switch: no listener leaks', () => {
  it('many failed dials leave no listeners on long-lived signals', async () => {
    const sw = new Switch({ nodeKey: NodeKey.generate(), network: 'n', dialTimeout: 200 })
    await sw.start()
    const warnings: string[] = []
    const onWarning = (w: Error): void => { warnings.push(w.name) }
    process.on('warning', onWarning)
    try {
      for (let i = 0; i < 30; i++) {
        await sw.dial(`${'cd'.repeat(20)}@127.0.0.1:9`).catch(() => {})
      }
      await new Promise(resolve => setImmediate(resolve))
      expect(warnings.filter(w => w === 'MaxListenersExceededWarning')).toEqual([])
    } finally {
      process.off('warning', onWarning)
      await sw.stop()
    }
  })
})
