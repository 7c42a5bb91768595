/**
 * A seed that serves only what it reached, over real sockets: its book holds live nodes and dead
 * addresses (ports nobody listens on); its verification pool dials them all; a PexRequest gets the
 * live ones only, the dead stay in the book unserved, and crawled peers are let go after the hold.
 */
import { afterEach, describe, expect, it } from 'vitest'
import net from 'node:net'
import { NetAddress, NodeKey, Reactor, type Envelope } from '@switchyard/p2p'
import { TestNetwork, waitFor } from '@switchyard/testing'
import { AddrBook, PexChannel, PexReactor, type PexReactorOptions } from '@switchyard/pex'
import type { PexMessage } from '@switchyard/wire'

const nets: TestNetwork[] = []
afterEach(async () => { await Promise.all(nets.splice(0).map(async n => { await n.stop() })) })

/** A port on `ip` that nothing listens on (bound, then closed). */
async function deadAddress (ip: string): Promise<NetAddress> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, ip, resolve))
  const port = (server.address() as net.AddressInfo).port
  await new Promise<void>(resolve => server.close(() => { resolve() }))
  return new NetAddress(NodeKey.generate().id, ip, port)
}

/** Asks once for addresses on channel 0 and keeps the answer. */
class AskOnce extends Reactor {
  readonly channels = [PexChannel]
  answer: Array<{ id: string }> | undefined
  override receive ({ message }: Envelope<PexMessage>): void { if (message.type === 'addrs') this.answer = message.addrs }
}

async function seedWithBook (options: Partial<PexReactorOptions>): Promise<{ seed: TestNetwork['nodes'][number], pex: PexReactor, book: AddrBook, live: TestNetwork, dead: NetAddress[] }> {
  const live = await TestNetwork.start({
    size: 4,
    reactors: () => ({ pex: new PexReactor({ book: new AddrBook({ strict: false }), ensurePeersPeriod: 60_000, startJitter: false }) })
  })
  nets.push(live)
  const dead = await Promise.all([1, 2, 3, 4].map(async i => await deadAddress(live.node(0).ip.replace(/\.\d+$/, `.${100 + i}`))))
  const book = new AddrBook({ strict: false })
  const seedNet = await TestNetwork.start({
    size: 1,
    switchOptions: () => ({ addressBook: book, dialTimeout: 1000 }),
    reactors: () => ({ pex: new PexReactor({ book, seedMode: true, crawlPeriod: 200, startJitter: false, verifier: { ratePerSecond: 50 }, ...options }) })
  })
  nets.push(seedNet)
  for (const n of live.nodes) book.addAddress(NetAddress.parse(n.address), NetAddress.parse(n.address))
  for (const d of dead) book.addAddress(d, d)
  const seed = seedNet.node(0)
  return { seed, pex: seed.reactors.pex as PexReactor, book, live, dead }
}

async function ask (seedAddress: string): Promise<string[]> {
  const asker = new AskOnce()
  const client = await TestNetwork.start({ size: 1, reactors: () => ({ raw: asker }) })
  nets.push(client)
  const peer = await client.node(0).switch.dial(NetAddress.parse(seedAddress))
  peer.trySend(PexChannel, { type: 'request' })
  await waitFor(() => asker.answer !== undefined, { what: 'the seed\'s answer' })
  return asker.answer!.map(a => a.id)
}

describe('seed verification', () => {
  it('serves only the addresses it reached; dead ones stay in the book, unserved; crawled peers are let go after the hold', async () => {
    const { seed, pex, book, live, dead } = await seedWithBook({ seedDisconnectWaitPeriod: 500 })
    await waitFor(() => pex.verificationStats().fresh === 4 && dead.every(d => (book.get(d.id)?.failures ?? 0) >= 1), { timeoutMs: 10_000, what: 'every address to be tried' })
    expect(pex.verificationStats()).toMatchObject({ known: 8, verified: 4, fresh: 4 })
    expect(pex.verifier!.stats.reached).toBeGreaterThanOrEqual(4)
    // The crawl hold: the live nodes it dialed are let go.
    await waitFor(() => seed.switch.peers.size === 0, { timeoutMs: 10_000, what: 'the seed to let crawled peers go' })
    const served = await ask(seed.address)
    expect(new Set(served)).toEqual(new Set(live.nodes.map(n => n.id)))
    expect(pex.stats.addrsServed).toBe(4)
    // Kept: the dead four, and the asker's own (unproven) address, neither of them served.
    expect(book.size).toBe(9)
    expect(dead.every(d => book.has(d.id))).toBe(true)
  })

  it('with serveVerifiedOnly off it serves from the whole book, dead addresses included (CometBFT\'s behaviour)', async () => {
    const { seed, pex, book, dead } = await seedWithBook({ serveVerifiedOnly: false, verifyAddresses: false })
    expect(pex.verifier).toBeUndefined()
    const served = await ask(seed.address)
    expect(served).toHaveLength(9) // the whole book, the asker's own address included
    expect(dead.every(d => served.includes(d.id))).toBe(true)
  })
})
