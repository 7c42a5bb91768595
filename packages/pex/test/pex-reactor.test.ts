import { afterEach, describe, expect, it } from 'vitest'
import { NetAddress, NodeKey, Reactor, Switch, type Envelope, type Peer, type RemoveReason } from '@switchyard/p2p'
import { TestNetwork, waitFor, waitForEvent } from '@switchyard/testing'
import { encodePexMessage } from '@switchyard/wire'
import { AddrBook, PexChannel, PexReactor, type PexReactorOptions } from '@switchyard/pex'

const nets: TestNetwork[] = []
afterEach(async () => { await Promise.all(nets.splice(0).map(async n => { await n.stop() })) })

interface PexNet { net: TestNetwork, books: AddrBook[], pex: (i: number) => PexReactor }

/** N nodes, each with an in-memory non-strict AddrBook (loopback addresses) and a PEX reactor. */
async function pexNetwork (size: number, opts: (i: number) => Partial<PexReactorOptions> & { maxOutbound?: number } = () => ({}), topology?: Array<[number, number]>): Promise<PexNet> {
  const books: AddrBook[] = []
  const net = await TestNetwork.start({
    size,
    topology: topology ?? 'none',
    switchOptions: i => {
      books[i] = new AddrBook({ strict: false })
      return { addressBook: books[i], maxOutboundPeers: opts(i).maxOutbound ?? 10 }
    },
    reactors: i => {
      const { maxOutbound: _m, ...o } = opts(i)
      return { pex: new PexReactor({ book: books[i]!, ensurePeersPeriod: 300, startJitter: false, dialBackoffUnit: 50, ...o }) }
    }
  })
  nets.push(net)
  return { net, books, pex: i => net.node(i).reactors.pex as PexReactor }
}

describe('PEX reactor', () => {
  it('nodes that know only a seed learn each other through it; the seed answers, then hangs up', async () => {
    // Node 0 is the seed; nodes 1 and 2 know only it. It dials them back to verify them, and lets
    // those crawled connections go after the (here short) crawl hold.
    const { net, books } = await pexNetwork(1, () => ({ seedMode: true, crawlPeriod: 60_000, seedDisconnectWaitPeriod: 1000 }))
    const seed = net.node(0)
    const hangups: string[] = []
    seed.switch.on('peer:remove', (p: Peer, reason: RemoveReason) => { if (reason === undefined) hangups.push(p.id) })
    const more = await pexNetwork(2, () => ({ seeds: [seed.address] }))
    const [a, b] = [more.net.node(0), more.net.node(1)]
    await waitFor(() => a.switch.peers.has(b.id) && b.switch.peers.has(a.id), { timeoutMs: 10_000, what: 'a and b to find each other' })
    // The seed kept nobody: it answered each once and hung up gracefully (reason undefined).
    await waitFor(() => seed.switch.peers.size === 0, { what: 'the seed to hang up' })
    expect(new Set(hangups)).toEqual(new Set([a.id, b.id]))
    expect(books[0]!.has(a.id) && books[0]!.has(b.id)).toBe(true)
    expect((seed.reactors.pex as PexReactor).stats.requestsServed).toBeGreaterThanOrEqual(2)
    expect(more.books[0]!.has(b.id) || more.books[1]!.has(a.id)).toBe(true)
  })

  it('the first two requests are answered; a third too soon gets ERR_PEX_TOO_SOON and a ban', async () => {
    // Node 1 has no PEX reactor, only a raw reactor on channel 0, so we control every request.
    const answers: unknown[] = []
    class RawPex extends Reactor {
      readonly channels = [PexChannel]
      override receive (env: Envelope<unknown>): void { answers.push(env.message) }
    }
    const book = new AddrBook({ strict: false })
    const net = await TestNetwork.start({
      size: 2,
      switchOptions: i => i === 0 ? { addressBook: book } : {},
      reactors: (i): Record<string, Reactor> => i === 0 ? { pex: new PexReactor({ book, minReceiveRequestInterval: 10_000, ensurePeersPeriod: 60_000, startJitter: false }) } : { raw: new RawPex() },
      topology: [[1, 0]]
    })
    nets.push(net)
    const victim = net.node(0)
    const flooder = net.node(1).switch.peers.get(victim.id)!
    flooder.trySend(PexChannel, { type: 'request' })
    flooder.trySend(PexChannel, { type: 'request' })
    await waitFor(() => answers.length === 2, { what: 'two answers' })
    expect(victim.switch.peers.has(net.node(1).id)).toBe(true)
    const removed = waitForEvent<[Peer, RemoveReason]>(victim.switch, 'peer:remove')
    flooder.trySend(PexChannel, { type: 'request' })
    const [peer, reason] = await removed
    expect(peer.id).toBe(net.node(1).id)
    expect(reason).toMatchObject({ code: 'ERR_PEX_TOO_SOON' })
    expect(book.isBanned(net.node(1).id)).toBe(true)
    expect((victim.reactors.pex as PexReactor).stats.tooSoon).toBe(1)
  })

  it('a seed hangs up (ERR_PEX_NO_REQUEST) on inbound peers that do not ask for addresses within the grace period; one that asks is answered', async () => {
    class Silent extends Reactor {
      readonly channels = [PexChannel]
      readonly answers: unknown[] = []
      override receive (env: Envelope<unknown>): void { this.answers.push(env.message) }
    }
    const book = new AddrBook({ strict: false })
    const net = await TestNetwork.start({
      size: 4,
      switchOptions: i => i === 0 ? { addressBook: book } : {},
      reactors: (i): Record<string, Reactor> => i === 0
        ? { pex: new PexReactor({ book, seedMode: true, seedRequestTimeout: 400, crawlPeriod: 60_000, startJitter: false, verifyAddresses: false }) }
        : { raw: new Silent() },
      topology: [[1, 0], [2, 0], [3, 0]]
    })
    nets.push(net)
    const seed = net.node(0)
    const reasons = new Map<string, RemoveReason>()
    seed.switch.on('peer:remove', (p: Peer, r: RemoveReason) => reasons.set(p.id, r))
    expect(seed.switch.numPeers().inbound).toBe(3)
    // Node 3 asks; nodes 1 and 2 stay silent.
    net.node(3).switch.peers.get(seed.id)!.trySend(PexChannel, { type: 'request' })
    await waitFor(() => seed.switch.peers.size === 0, { timeoutMs: 5000, what: 'the seed to let every peer go' })
    expect(reasons.get(net.node(1).id)).toMatchObject({ code: 'ERR_PEX_NO_REQUEST' })
    expect(reasons.get(net.node(2).id)).toMatchObject({ code: 'ERR_PEX_NO_REQUEST' })
    expect(reasons.get(net.node(3).id)).toBeUndefined() // answered, then a graceful hang-up
    expect((net.node(3).reactors.raw as Silent).answers).toHaveLength(1)
    expect((seed.reactors.pex as PexReactor).stats.silentDropped).toBe(2)
  })

  it('our own reactor never asks a peer sooner than the interval, however often ensurePeers runs', async () => {
    const { net, pex } = await pexNetwork(2, () => ({ minReceiveRequestInterval: 10_000, ensurePeersPeriod: 20 }), [[1, 0]])
    await waitFor(() => pex(0).stats.ensureRounds >= 20 && pex(1).stats.ensureRounds >= 20, { what: '20 ensurePeers rounds each' })
    expect(pex(0).stats.tooSoon + pex(1).stats.tooSoon).toBe(0)
    expect(pex(1).stats.requestsSent).toBe(1)
    expect(net.node(0).switch.peers.has(net.node(1).id)).toBe(true)
  })

  it('unsolicited addresses get the sender disconnected (ERR_PEX_UNSOLICITED) and banned', async () => {
    const { net, books } = await pexNetwork(2, () => ({ ensurePeersPeriod: 60_000 }), [[1, 0]])
    const liar = net.node(1).switch.peers.get(net.node(0).id)!
    const removed = waitForEvent<[Peer, RemoveReason]>(net.node(0).switch, 'peer:remove')
    liar.trySendBytes(PexChannel.id, encodePexMessage({ type: 'addrs', addrs: [{ id: 'ab'.repeat(20), ip: '8.8.8.8', port: 26656 }] }))
    expect((await removed)[1]).toMatchObject({ code: 'ERR_PEX_UNSOLICITED' })
    expect(books[0]!.has('ab'.repeat(20))).toBe(false)
    expect(books[0]!.isBanned(net.node(1).id)).toBe(true)
  })

  it('an answer holding an address that is not an IP gets the sender disconnected (ERR_PEX_INVALID_ADDRESS) and banned', async () => {
    // Node 1 runs no PEX reactor (only a raw one on channel 0 that never answers), so the only
    // answer node 0 ever gets is the one we send by hand: solicited, and invalid.
    class SilentPex extends Reactor {
      readonly channels = [PexChannel]
      override receive (): void {}
    }
    const book = new AddrBook({ strict: false })
    const net = await TestNetwork.start({
      size: 2,
      switchOptions: i => i === 0 ? { addressBook: book } : {},
      reactors: (i): Record<string, Reactor> => i === 0 ? { pex: new PexReactor({ book, ensurePeersPeriod: 60_000, startJitter: false }) } : { silent: new SilentPex() },
      topology: [[0, 1]]
    })
    nets.push(net)
    const asker = net.node(0)
    const pex = asker.reactors.pex as PexReactor
    const toAsker = net.node(1).switch.peers.get(asker.id)!
    pex.requestAddrs(asker.switch.peers.get(net.node(1).id)!) // no-op if addPeer already asked
    expect(pex.stats.requestsSent).toBe(1)
    const removed = waitForEvent<[Peer, RemoveReason]>(asker.switch, 'peer:remove')
    toAsker.trySendBytes(PexChannel.id, encodePexMessage({ type: 'addrs', addrs: [{ id: 'ab'.repeat(20), ip: 'not-an-ip', port: 1 }] }))
    const [peer, reason] = await removed
    expect(peer.id).toBe(net.node(1).id)
    expect(reason).toMatchObject({ code: 'ERR_PEX_INVALID_ADDRESS' })
    expect(pex.stats).toMatchObject({ invalid: 1, unsolicited: 0 })
    expect(book.isBanned(net.node(1).id)).toBe(true)
  })

  it('31 nodes that start knowing only one seed all reach their outbound target', async () => {
    const target = 4
    const { net: seedNet } = await pexNetwork(1, () => ({ seedMode: true, crawlPeriod: 60_000 }))
    const seed = seedNet.node(0)
    const { net } = await pexNetwork(30, () => ({ seeds: [seed.address], maxOutbound: target, ensurePeersPeriod: 200 }))
    await waitFor(() => net.nodes.every(n => n.switch.numPeers().outbound >= target), { timeoutMs: 30_000, what: `every node to have ${target} outbound peers` })
    for (const n of net.nodes) expect(n.switch.numPeers().outbound).toBe(target)
  }, 60_000)

  it('gives up on an address after too many failed dials and bans it', async () => {
    const book = new AddrBook({ strict: false })
    const sw = new Switch({ nodeKey: NodeKey.generate(), network: 'n', addressBook: book, dialTimeout: 200 })
    const pex = new PexReactor({ book, ensurePeersPeriod: 60_000, maxAttemptsToDial: 2, dialBackoffUnit: 1, startJitter: false })
    sw.addReactor('pex', pex)
    await sw.start()
    try {
      // Let the first ensurePeers round pass on an empty book, so only our dials touch the address.
      await waitFor(() => pex.stats.ensureRounds >= 1)
      const dead = new NetAddress('cd'.repeat(20), '127.0.0.1', 9) // nothing listens on port 9
      book.addAddress(dead, dead)
      for (let i = 0; i < 4; i++) {
        // Wait out the back-off (2^attempts ms here) before each dial.
        const start = Date.now()
        await waitFor(() => Date.now() - start > 2 ** (i + 1) + 1)
        await pex.dialPeer(dead)
      }
      expect(book.isBanned(dead.id)).toBe(true)
      expect(pex.stats.dialFailures).toBe(3)
    } finally {
      await sw.stop()
    }
  })
})
