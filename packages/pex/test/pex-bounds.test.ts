/** The PEX reactor's bookkeeping stays bounded however many peers come and go or addresses fail. */
import { afterEach, describe, expect, it } from 'vitest'
import { MConnection } from '@switchyard/conn'
import { NetAddress, NodeKey, Peer, Switch, makeNodeInfo, type PeerLink } from '@switchyard/p2p'
import { AddrBook, PexReactor } from '@switchyard/pex'
import { RecentMap } from '../src/recent-map.js'

const switches: Switch[] = []
afterEach(async () => { await Promise.all(switches.splice(0).map(async s => { await s.stop() })) })

describe('RecentMap', () => {
  it('keeps the most recently set keys up to its limit; setting a key again makes it newest', () => {
    const m = new RecentMap<string, number>(3)
    for (const k of ['a', 'b', 'c']) m.set(k, 1)
    m.set('a', 2) // a is now the newest
    m.set('d', 1) // forgets b, the oldest
    expect([...m.keys()]).toEqual(['c', 'a', 'd'])
    expect(m.get('a')).toBe(2)
    expect(() => new RecentMap(0)).toThrow(RangeError)
  })
})

describe('PexReactor bounds', () => {
  it('10,000 dial attempts to dead addresses leave the dial back-off map at its bound', async () => {
    const book = new AddrBook({ strict: false })
    const sw = new Switch({ nodeKey: NodeKey.generate(), network: 'bounds', addressBook: book, dialTimeout: 2000 })
    const pex = new PexReactor({ book, ensurePeersPeriod: 3_600_000, startJitter: false, maxTracked: 500 })
    sw.addReactor('pex', pex)
    await sw.start()
    switches.push(sw)
    let failures = 0
    // Port 9 on 127.0.x.y: nothing listens, so each dial is refused at once (a real failed dial).
    for (let batch = 0; batch < 50; batch++) {
      await Promise.all(Array.from({ length: 200 }, async (_, i) => {
        const n = batch * 200 + i
        const addr = new NetAddress(idOf(n), `127.0.${160 + (n >> 8) % 40}.${(n & 255) || 1}`, 9)
        if (await pex.dialPeer(addr) === undefined) failures++
      }))
      expect(pex.tracked.dialAttempts).toBeLessThanOrEqual(500)
    }
    expect(failures).toBe(10_000)
    expect(pex.stats.dialFailures).toBe(10_000)
    expect(pex.tracked.dialAttempts).toBe(500)
  }, 60_000)

  it('10,000 peers that each get one address request and leave leave the request-time map at its bound', () => {
    const book = new AddrBook({ strict: false })
    const pex = new PexReactor({ book, ensurePeersPeriod: 3_600_000, startJitter: false, maxTracked: 500 })
    const link: PeerLink = { isClosed: false, send: async () => true, trySend: () => true, close: () => {}, stop: async () => {}, status: () => ({}) as ReturnType<MConnection['status']> }
    for (let i = 0; i < 10_000; i++) {
      const id = idOf(i)
      const peer = new Peer(id, makeNodeInfo({ nodeId: id, network: 'bounds', listenAddr: 'tcp://127.0.0.1:1', moniker: 'p', channels: [0x00] }), { outbound: true, persistent: false, unconditional: false }, '127.0.0.1', 1)
      peer.attach(link)
      pex.requestAddrs(peer)
      pex.removePeer(peer, undefined)
    }
    expect(pex.stats.requestsSent).toBe(10_000)
    expect(pex.tracked).toMatchObject({ requestedAt: 500, received: 0, connectedAt: 0 })
  })
})

/** A distinct node ID per n (no key needed: these nodes never handshake). */
function idOf (n: number): string {
  return `e${(n + 1).toString(16).padStart(39, '0')}`
}
