import { afterEach, describe, expect, it } from 'vitest'
import { NetAddress, NodeKey, Switch } from '@switchyard/p2p'
import { AddrBook, PexReactor } from '@switchyard/pex'
import { waitFor } from '@switchyard/testing'
import { webSocketTransport } from '@switchyard/transport-ws'

const switches: Switch[] = []
afterEach(async () => { await Promise.all(switches.splice(0).map(async s => { await s.stop() })) })

describe('PEX with a WebSocket seed', () => {
  it('dials a ws:// seed as written, learns TCP addresses from it, and never stores the WebSocket address', async () => {
    const seedBook = new AddrBook({ strict: false })
    const known = [1, 2, 3].map(i => new NetAddress(NodeKey.generate().id, `10.0.2.${i}`, 26656))
    for (const a of known) seedBook.addAddress(a, a)
    const seed = new Switch({ nodeKey: NodeKey.generate(), network: 'ws-pex', listenAddress: 'tcp://127.0.0.1:0', allowDuplicateIp: true, addressBook: seedBook })
    // Verification off: these made-up addresses must be served without the seed ever dialing them.
    seed.addReactor('pex', new PexReactor({ book: seedBook, seedMode: true, startJitter: false, verifyAddresses: false, serveVerifiedOnly: false }))
    const seedWs = webSocketTransport(seed, { listen: 'ws://127.0.0.1:0' })
    await seed.start()
    switches.push(seed)
    const seedAddress = (await seedWs.listen())!

    const book = new AddrBook({ strict: false })
    const good: string[] = []
    const node = new Switch({
      nodeKey: NodeKey.generate(), network: 'ws-pex', allowDuplicateIp: true,
      addressBook: { markGood: a => { good.push(a.toString()) }, addOurAddress: a => { book.addOurAddress(a) }, removeAddress: a => { book.removeAddress(a) } }
    })
    node.addReactor('pex', new PexReactor({ book, seeds: [seedAddress], ensurePeersPeriod: 200, startJitter: false }))
    webSocketTransport(node)
    await node.start()
    switches.push(node)

    await waitFor(() => known.every(a => book.get(a.id) !== undefined), { what: 'the addresses the seed knows', timeoutMs: 10_000 })
    const seedPort = Number(seedAddress.split(':').pop())
    expect(book.entries().some(k => k.addr.id === seed.nodeKey.id || k.addr.port === seedPort)).toBe(false)
    expect(good).toEqual([])
  })
})
