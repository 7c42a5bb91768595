/**
 * PEX against real CometBFT nodes: a CometBFT seed introduces Switchyard and CometBFT nodes to each
 * other, a Switchyard seed does the same for CometBFT nodes, and addrbook.json files cross over.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NetAddress, NodeKey, Switch } from '@switchyard/p2p'
import { AddrBook, PexReactor } from '@switchyard/pex'
import { waitFor } from '@switchyard/testing'
import { GoPeer, buildPeer, interopUnavailable, lines, type Line } from './go-peer.js'

const unavailable = interopUnavailable()
const running: Array<GoPeer | Switch> = []
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop()
})

const PERIOD = 600 // ensurePeers period for both sides; CometBFT accepts one request per period / 3

let ipCounter = 10
async function ourNode (opts: { seedMode?: boolean, seeds?: string[], book?: AddrBook } = {}): Promise<{ sw: Switch, pex: PexReactor, book: AddrBook }> {
  const ip = `127.0.60.${ipCounter++}`
  const book = opts.book ?? new AddrBook({ strict: false })
  const sw = new Switch({
    nodeKey: NodeKey.generate(), network: 'interop-chain', moniker: 'switchyard', listenAddress: `tcp://${ip}:0`,
    dialFromAddress: ip, allowDuplicateIp: true, addressBook: book, dialJitter: 0
  })
  const pex = new PexReactor({ book, seedMode: opts.seedMode ?? false, seeds: opts.seeds ?? [], ensurePeersPeriod: PERIOD, startJitter: false, dialBackoffUnit: 100, crawlPeriod: PERIOD })
  sw.addReactor('pex', pex)
  await sw.start()
  running.push(sw)
  return { sw, pex, book }
}

async function goNode (line: Line, args: string[]): Promise<{ go: GoPeer, id: string, addr: string }> {
  const go = new GoPeer(line, ['-pex', '-echo-channel', '-1', '-ensure-peers-period', `${PERIOD}ms`, '-flush-throttle', '10ms', ...args])
  running.push(go)
  const l = await go.listening()
  return { go, id: l.id, addr: l.addr }
}

describe.skipIf(unavailable !== undefined).each(lines)('PEX interop with CometBFT $line', (l) => {
  beforeAll(() => { buildPeer(l) }, 300_000)

  it('a CometBFT seed introduces Switchyard nodes to each other and to a CometBFT node, then hangs up', async () => {
    const seed = await goNode(l, ['-seed-mode', '-moniker', 'goseed'])
    const a = await ourNode({ seeds: [seed.addr] })
    const b = await ourNode({ seeds: [seed.addr] })
    const g = await goNode(l, ['-seeds', seed.addr, '-moniker', 'gonode'])
    const gid = g.id
    await waitFor(() => a.sw.peers.has(b.sw.nodeKey.id) || b.sw.peers.has(a.sw.nodeKey.id), { timeoutMs: 20_000, what: 'the Switchyard nodes to meet' })
    await waitFor(() => a.sw.peers.has(gid) && b.sw.peers.has(gid), { timeoutMs: 20_000, what: 'both Switchyard nodes to meet the CometBFT node' })
    // The seed answered and hung up on us: it is not among our peers any more.
    await waitFor(() => !a.sw.peers.has(seed.id) && !b.sw.peers.has(seed.id), { timeoutMs: 10_000, what: 'the seed to hang up' })
    expect(a.pex.stats.addrsReceived + b.pex.stats.addrsReceived).toBeGreaterThan(0)
    expect(a.pex.stats.tooSoon + b.pex.stats.tooSoon + a.pex.stats.unsolicited + b.pex.stats.unsolicited).toBe(0)
    expect(seed.go.events.some(e => e.event === 'peer_removed' && /too soon|unsolicited/i.test(String(e.reason)))).toBe(false)
  }, 60_000)

  it('a Switchyard seed introduces CometBFT nodes to each other, answering once and hanging up', async () => {
    const seed = await ourNode({ seedMode: true })
    const seedAddr = seed.sw.address
    const g1 = await goNode(l, ['-seeds', seedAddr, '-moniker', 'go1'])
    const g2 = await goNode(l, ['-seeds', seedAddr, '-moniker', 'go2'])
    await waitFor(() => g1.go.events.some(e => e.event === 'peer_added' && e.id === g2.id) && g2.go.events.some(e => e.event === 'peer_added' && e.id === g1.id), { timeoutMs: 20_000, what: 'the CometBFT nodes to meet' })
    await g1.go.waitFor(e => e.event === 'peer_removed' && e.id === seed.sw.nodeKey.id, 10_000, 'the seed to hang up on go1')
    expect(seed.pex.stats.requestsServed).toBeGreaterThanOrEqual(1)
  }, 60_000)

  it('addrbook.json written by CometBFT loads in Switchyard, and ours loads in CometBFT', async () => {
    // CometBFT builds a book from what its seed (ours) tells it, and saves it on stop.
    const seed = await ourNode({ seedMode: true })
    const helper = await ourNode()
    seed.book.addAddress(NetAddress.parse(helper.sw.address), NetAddress.parse(helper.sw.address))
    const home = mkdtempSync(join(tmpdir(), 'cmtbook-'))
    const g = new GoPeer(l, ['-pex', '-echo-channel', '-1', '-ensure-peers-period', `${PERIOD}ms`, '-seeds', seed.sw.address], home)
    running.push(g)
    await g.listening()
    await g.waitFor(e => e.event === 'peer_added' && e.id === helper.sw.nodeKey.id, 20_000, 'CometBFT to dial the address it learned')
    await g.stop()
    const theirs = await AddrBook.load(join(home, 'addrbook.json'))
    expect(theirs.has(helper.sw.nodeKey.id)).toBe(true)
    // CometBFT only marks addresses good from its consensus reactor, so this one is still "new".
    expect(theirs.get(helper.sw.nodeKey.id)).toMatchObject({ bucketType: 1, addr: { ip: helper.sw.address.split('@')[1]!.split(':')[0] } })
    expect(theirs.get(helper.sw.nodeKey.id)!.buckets.length).toBeGreaterThan(0)

    // Our book, saved by us, loaded by a fresh CometBFT node that then dials from it.
    const target = await ourNode()
    const ourPath = join(mkdtempSync(join(tmpdir(), 'swybook-')), 'addrbook.json')
    const ours = new AddrBook({ strict: false, filePath: ourPath })
    ours.addAddress(NetAddress.parse(target.sw.address), NetAddress.parse(target.sw.address))
    ours.markGood(NetAddress.parse(target.sw.address))
    // A dead address with failed verifications: our extra fields (last_reached, failures) must not
    // stop CometBFT's loader (Go's JSON decoder ignores keys it does not know).
    const dead = new NetAddress(NodeKey.generate().id, '127.0.61.1', 9)
    ours.addAddress(dead, dead)
    ours.markAttempt(dead)
    await ours.save()
    const saved = JSON.parse(readFileSync(ourPath, 'utf8')) as { addrs: Array<Record<string, unknown>> }
    expect(saved.addrs.find(e => (e.addr as { id: string }).id === target.sw.nodeKey.id)).toHaveProperty('last_reached')
    expect(saved.addrs.find(e => (e.addr as { id: string }).id === dead.id)).toMatchObject({ failures: 1 })
    const g2 = new GoPeer(l, ['-pex', '-echo-channel', '-1', '-ensure-peers-period', `${PERIOD}ms`, '-addrbook', ourPath])
    running.push(g2)
    await g2.listening()
    await waitFor(() => target.sw.peers.size > 0, { timeoutMs: 20_000, what: 'CometBFT to dial the address from our addrbook.json' })
  }, 60_000)
})
