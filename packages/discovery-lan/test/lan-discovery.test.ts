import { afterEach, describe, expect, it } from 'vitest'
import dgram from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { NodeKey, Switch, nodeIdFromPublicKey } from '@switchyard/p2p'
import { AddrBook } from '@switchyard/pex'
import { protoTypes } from '@switchyard/wire'
import { LanDiscovery, attachLanDiscovery, encodeAnnouncement, type LanMode } from '@switchyard/discovery-lan'
import { waitFor } from '@switchyard/testing'

const running: Array<{ stop: () => Promise<void> }> = []
afterEach(async () => { await Promise.all(running.splice(0).map(async r => { await r.stop() })) })

let portCounter = 18100 + (process.pid % 200) * 4
const udpPort = (): number => portCounter++

interface LanNode { sw: Switch, book: AddrBook, lan: LanDiscovery, id: string }

/** A node on its own 127.0.90.x address with LAN discovery on loopback and no seed at all. */
async function lanNode (i: number, port: number, mode: LanMode = 'multicast', network = 'lan-net', interval = 200): Promise<LanNode> {
  const ip = `127.0.90.${i + 1}`
  const nodeKey = NodeKey.generate()
  const book = new AddrBook({ strict: true })
  const sw = new Switch({ nodeKey, network, listenAddress: `tcp://${ip}:0`, dialFromAddress: ip, addressBook: book })
  await sw.start()
  const listenPort = Number(sw.address.split(':').pop())
  const lan = new LanDiscovery({
    nodeKey, network, listenPort, mode, port, interface: '127.0.0.1', sourceAddress: ip,
    broadcastAddress: '127.255.255.255', interval
  })
  attachLanDiscovery(lan, sw, book)
  await lan.start()
  running.push(lan, sw)
  return { sw, book, lan, id: nodeKey.id }
}

function fullMesh (nodes: LanNode[]): boolean {
  return nodes.every(a => nodes.every(b => a === b || a.sw.peers.has(b.id)))
}

describe('LAN discovery', () => {
  it('two nodes find each other by multicast with no seed, and their strict books keep the LAN address', async () => {
    const port = udpPort()
    const nodes = [await lanNode(0, port), await lanNode(1, port)]
    await waitFor(() => fullMesh(nodes), { timeoutMs: 5000, what: 'the two nodes to connect' })
    expect(nodes[0]!.book.get(nodes[1]!.id)?.addr.ip).toBe('127.0.90.2')
  })

  it('five nodes find each other by multicast', async () => {
    const port = udpPort()
    const nodes = await Promise.all([0, 1, 2, 3, 4].map(async i => await lanNode(10 + i, port)))
    await waitFor(() => fullMesh(nodes), { timeoutMs: 10_000, what: 'a full mesh of five' })
    for (const n of nodes) expect(n.sw.peers.size).toBe(4)
  })

  it('three nodes find each other by broadcast (127.255.255.255 on loopback)', async () => {
    const port = udpPort()
    const nodes = await Promise.all([0, 1, 2].map(async i => await lanNode(20 + i, port, 'broadcast')))
    await waitFor(() => fullMesh(nodes), { timeoutMs: 10_000, what: 'a full mesh of three by broadcast' })
    for (const n of nodes) expect(n.sw.peers.size).toBe(2)
  })

  it('ignores another network\'s announcements', async () => {
    const port = udpPort()
    const a = await lanNode(30, port, 'multicast', 'net-a')
    const b = await lanNode(31, port, 'multicast', 'net-b')
    await waitFor(() => (a.lan.stats.rejected.get('other-network') ?? 0) >= 2 && (b.lan.stats.rejected.get('other-network') ?? 0) >= 2)
    expect(a.sw.peers.size + b.sw.peers.size).toBe(0)
    expect(a.book.size + b.book.size).toBe(0)
  })

  it('ignores forged announcements: a bad signature, or the ID of another key', async () => {
    const port = udpPort()
    const victim = await lanNode(40, port)
    const heard: string[] = []
    victim.lan.on('peer', p => heard.push(p.id))
    const forger = NodeKey.generate()
    const someoneElse = NodeKey.generate()
    const sock = dgram.createSocket('udp4')
    await new Promise<void>(resolve => sock.bind(0, '127.0.90.99', resolve))
    // 1. A valid announcement with its signature flipped.
    const good = Buffer.from(encodeAnnouncement(forger, { network: 'lan-net', port: 1234, p2pVersion: 8, blockVersion: 11, timestampMs: Date.now(), query: false }))
    const signed = protoTypes.SignedLanAnnouncement.decode(good) as unknown as { body: Uint8Array, signature: Uint8Array }
    signed.signature[0]! ^= 1
    const tampered = protoTypes.SignedLanAnnouncement.encode(signed).finish()
    // 2. Another node's ID, signed with the forger's own key.
    const body = protoTypes.LanAnnouncement.encode({ pub_key: forger.publicKey, node_id: someoneElse.id, network: 'lan-net', port: 1234, timestamp_ms: Date.now() }).finish()
    const claim = protoTypes.SignedLanAnnouncement.encode({ body, signature: forger.sign(Buffer.concat([Buffer.from('switchyard-lan-v1'), body])) }).finish()
    // 3. Garbage.
    for (const d of [tampered, claim, Buffer.from('not a protobuf at all')]) sock.send(d, port, '127.0.0.1')
    await waitFor(() => (victim.lan.stats.rejected.get('bad-signature') ?? 0) >= 1 && (victim.lan.stats.rejected.get('id-mismatch') ?? 0) >= 1 && (victim.lan.stats.rejected.get('malformed') ?? 0) >= 1)
    expect(heard).toEqual([])
    expect(victim.book.has(someoneElse.id) || victim.book.has(forger.id)).toBe(false)
    sock.close()
  })

  it('checks signatures within a per-source budget: a flood of forgeries from one source gets at most burst + rate checks', async () => {
    const port = udpPort()
    const lan = new LanDiscovery({ nodeKey: NodeKey.generate(), network: 'lan-net', listenPort: 1, port, interface: '127.0.0.1', interval: 60_000 })
    await lan.start()
    running.push(lan)
    const sock = await udpFrom('127.0.91.1')
    const t0 = performance.now()
    // UDP may drop some of a burst this size; whatever arrives beyond the bucket is not checked.
    for (let i = 0; i < 2000; i++) sock.send(forgery(), port, '127.0.0.1')
    await waitFor(() => lan.stats.received >= 200, { what: 'the flood to arrive' })
    const seconds = (performance.now() - t0) / 1000
    expect(lan.stats.verified).toBeLessThanOrEqual(5 + Math.ceil(2 * seconds) + 1) // burst 5, 2/s
    expect(lan.stats.rejected.get('bad-signature')).toBe(lan.stats.verified)
    const fromFlood = lan.stats.received - (lan.stats.rejected.get('self') ?? 0)
    expect(lan.stats.rejected.get('rate-limited')).toBe(fromFlood - lan.stats.verified)
    expect(lan.stats.accepted).toBe(0)
    sock.close()
  })

  it('remembers at most maxSources sources, and drops oversized datagrams unread', async () => {
    const port = udpPort()
    const lan = new LanDiscovery({ nodeKey: NodeKey.generate(), network: 'lan-net', listenPort: 1, port, interface: '127.0.0.1', interval: 60_000, maxSources: 64 })
    await lan.start()
    running.push(lan)
    const socks = await Promise.all(Array.from({ length: 200 }, async (_, i) => await udpFrom(`127.0.92.${i + 1}`)))
    for (const s of socks) s.send(forgery(), port, '127.0.0.1')
    await waitFor(() => lan.stats.received >= 150, { what: 'datagrams from 200 sources' })
    expect(lan.sourcesTracked).toBeLessThanOrEqual(64)
    for (const s of socks) s.close()
    const big = await udpFrom('127.0.93.1')
    big.send(Buffer.alloc(2000), port, '127.0.0.1')
    await waitFor(() => (lan.stats.rejected.get('too-large') ?? 0) === 1)
    big.close()
  })

  it('checks a copy of an announcement once ("both" mode, or a replay from elsewhere) and an older one never', async () => {
    const port = udpPort()
    const lan = new LanDiscovery({ nodeKey: NodeKey.generate(), network: 'lan-net', listenPort: 1, port, interface: '127.0.0.1', interval: 60_000 })
    await lan.start()
    running.push(lan)
    const peers: string[] = []
    lan.on('peer', p => peers.push(p.address.ip))
    const key = NodeKey.generate()
    const older = encodeAnnouncement(key, { network: 'lan-net', port: 1234, p2pVersion: 8, blockVersion: 11, timestampMs: Date.now() - 1000, query: false })
    const latest = encodeAnnouncement(key, { network: 'lan-net', port: 1234, p2pVersion: 8, blockVersion: 11, timestampMs: Date.now(), query: false })
    const genuine = await udpFrom('127.0.94.1')
    const replayer = await udpFrom('127.0.94.2')
    genuine.send(latest, port, '127.0.0.1')
    await waitFor(() => lan.stats.accepted === 1)
    genuine.send(latest, port, '127.0.0.1')
    replayer.send(latest, port, '127.0.0.1')
    replayer.send(older, port, '127.0.0.1')
    await waitFor(() => (lan.stats.rejected.get('duplicate') ?? 0) + (lan.stats.rejected.get('replay') ?? 0) === 3)
    expect(lan.stats.verified).toBe(1)
    expect(lan.stats.rejected.get('duplicate')).toBe(2)
    expect(lan.stats.rejected.get('replay')).toBe(1)
    expect(peers).toEqual(['127.0.94.1'])
    genuine.close()
    replayer.close()
  })

  it('garbage sent with a genuine node\'s source IP does not silence that node', async () => {
    const port = udpPort()
    const lan = new LanDiscovery({ nodeKey: NodeKey.generate(), network: 'lan-net', listenPort: 1, port, interface: '127.0.0.1', interval: 60_000 })
    await lan.start()
    running.push(lan)
    const key = NodeKey.generate()
    const heard: number[] = []
    lan.on('peer', p => { if (p.id === key.id) heard.push(p.announcement.timestampMs) })
    const genuine = await udpFrom('127.0.95.1')
    const spoofer = await udpFrom('127.0.95.1') // same source IP, as a spoofer on the LAN would use
    let ts = Date.now()
    const announce = (): void => { genuine.send(encodeAnnouncement(key, { network: 'lan-net', port: 1234, p2pVersion: 8, blockVersion: 11, timestampMs: ++ts, query: false }), port, '127.0.0.1') }
    announce()
    await waitFor(() => heard.length === 1)
    // 20 forgeries for each genuine announcement: the per-source bucket of 127.0.95.1 is empty
    // throughout, but the genuine (IP, ID) pair has its own.
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 20; i++) spoofer.send(forgery(), port, '127.0.0.1')
      announce()
      await waitFor(() => heard.length === round + 2, { what: `genuine announcement ${round + 2}` })
    }
    expect(lan.stats.rejected.get('rate-limited') ?? 0).toBeGreaterThan(50)
    genuine.close()
    spoofer.close()
  })

  it('keeps checking known nodes when a flood from 1,100 sources exhausts the budget for unknown ones', async () => {
    const port = udpPort()
    const lan = new LanDiscovery({ nodeKey: NodeKey.generate(), network: 'lan-net', listenPort: 1, port, interface: '127.0.0.1', interval: 60_000, budget: { unknownPerSecond: 50 } })
    await lan.start()
    running.push(lan)
    const key = NodeKey.generate()
    let heard = 0
    lan.on('peer', p => { if (p.id === key.id) heard++ })
    const genuine = await udpFrom('127.0.96.1')
    let ts = Date.now()
    const announce = (): void => { genuine.send(encodeAnnouncement(key, { network: 'lan-net', port: 1234, p2pVersion: 8, blockVersion: 11, timestampMs: ++ts, query: false }), port, '127.0.0.1') }
    announce()
    await waitFor(() => heard === 1)
    const socks = await Promise.all(Array.from({ length: 1100 }, async (_, i) => await udpFrom(`127.0.${97 + Math.floor(i / 250)}.${(i % 250) + 1}`)))
    const checked0 = lan.stats.verified
    const heard0 = heard
    // ~2,500 forgeries/s from 1,100 rotating sources for 2 s, and the genuine node announcing every 100 ms.
    const t0 = performance.now()
    let next = 0
    let genuineSent = 0
    while (performance.now() - t0 < 2000) {
      for (let i = 0; i < 25; i++) socks[next++ % socks.length]!.send(forgery(), port, '127.0.0.1')
      if (next % 250 === 0) { announce(); genuineSent++ }
      await new Promise(resolve => setTimeout(resolve, 10))
    }
    await waitFor(() => lan.stats.received >= next * 0.9, { what: 'the flood to be read' })
    const seconds = (performance.now() - t0) / 1000
    // 50/s for unknown senders (burst 50) plus the genuine node's own checks.
    expect(lan.stats.verified - checked0 - (heard - heard0)).toBeLessThanOrEqual(50 + Math.ceil(50 * seconds))
    expect(lan.stats.rejected.get('over-budget')).toBeGreaterThan(1000)
    await waitFor(() => heard - heard0 === genuineSent, { what: `all ${genuineSent} genuine announcements sent during the flood (heard ${heard - heard0})` })
    for (const s of socks) s.close()
    genuine.close()
  })

  it('answers each querier (once a second per querier), not one query a second in all', async () => {
    const port = udpPort()
    const lan = new LanDiscovery({ nodeKey: NodeKey.generate(), network: 'lan-net', listenPort: 1, port, interface: '127.0.0.1', interval: 60_000 })
    await lan.start()
    running.push(lan)
    await waitFor(() => lan.stats.sent === 1) // its own start-up query
    const queriers = [NodeKey.generate(), NodeKey.generate(), NodeKey.generate()]
    const sock = await udpFrom('127.0.89.1')
    const query = (k: NodeKey): void => { sock.send(encodeAnnouncement(k, { network: 'lan-net', port: 1234, p2pVersion: 8, blockVersion: 11, timestampMs: Date.now(), query: true }), port, '127.0.0.1') }
    for (const [i, k] of queriers.entries()) {
      query(k)
      await waitFor(() => lan.stats.sent === 2 + i, { what: `the answer to querier ${i + 1}` })
    }
    expect(lan.stats.queriesAnswered).toBe(3)
    // The first querier again, within its second: accepted, not answered (decided on receipt).
    query(queriers[0]!)
    await waitFor(() => lan.stats.accepted === 4)
    expect(lan.stats.queriesAnswered).toBe(3)
    query(NodeKey.generate())
    await waitFor(() => lan.stats.sent === 5, { what: 'the answer to a fourth querier' })
    expect(lan.stats.queriesAnswered).toBe(4)
    sock.close()
  })

  it('answers every querier, not one a second in all: three nodes started together find each other at once', async () => {
    const port = udpPort()
    // A 60 s interval: only query answers can connect them within the wait.
    const nodes: LanNode[] = []
    for (let i = 0; i < 3; i++) nodes.push(await lanNode(50 + i, port, 'multicast', 'lan-net', 60_000))
    await waitFor(() => fullMesh(nodes), { timeoutMs: 5000, what: 'a full mesh of three from query answers' })
    for (const n of nodes) expect(n.sw.peers.size).toBe(2)
  })
})

async function udpFrom (ip: string): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4')
  await new Promise<void>(resolve => s.bind(0, ip, resolve))
  return s
}

/** A well-formed announcement with a matching ID but a random signature: only the check exposes it. */
function forgery (): Uint8Array {
  const pub = randomBytes(32)
  const body = protoTypes.LanAnnouncement.encode({ pub_key: pub, node_id: nodeIdFromPublicKey(pub), network: 'lan-net', port: 1234, timestamp_ms: Date.now() }).finish()
  return protoTypes.SignedLanAnnouncement.encode({ body, signature: randomBytes(64) }).finish()
}
