import { afterEach, describe, expect, it } from 'vitest'
import dgram from 'node:dgram'
import { NodeKey, Switch } from '@switchyard/p2p'
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
async function lanNode (i: number, port: number, mode: LanMode = 'multicast', network = 'lan-net'): Promise<LanNode> {
  const ip = `127.0.90.${i + 1}`
  const nodeKey = NodeKey.generate()
  const book = new AddrBook({ strict: true })
  const sw = new Switch({ nodeKey, network, listenAddress: `tcp://${ip}:0`, dialFromAddress: ip, addressBook: book })
  await sw.start()
  const listenPort = Number(sw.address.split(':').pop())
  const lan = new LanDiscovery({
    nodeKey, network, listenPort, mode, port, interface: '127.0.0.1', sourceAddress: ip,
    broadcastAddress: '127.255.255.255', interval: 200
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
    await waitFor(() => (a.lan.stats.ignored.get('other-network') ?? 0) >= 2 && (b.lan.stats.ignored.get('other-network') ?? 0) >= 2)
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
    await waitFor(() => (victim.lan.stats.ignored.get('bad-signature') ?? 0) >= 1 && (victim.lan.stats.ignored.get('id-mismatch') ?? 0) >= 1 && (victim.lan.stats.ignored.get('malformed') ?? 0) >= 1)
    expect(heard).toEqual([])
    expect(victim.book.has(someoneElse.id) || victim.book.has(forger.id)).toBe(false)
    sock.close()
  })

  it('rate-limits a flood per source, and forgets sources beyond its bound', async () => {
    const port = udpPort()
    const key = NodeKey.generate()
    const lan = new LanDiscovery({ nodeKey: key, network: 'lan-net', listenPort: 1, port, interface: '127.0.0.1', interval: 60_000, maxSources: 64 })
    await lan.start()
    running.push(lan)
    const flooder = NodeKey.generate()
    const datagram = encodeAnnouncement(flooder, { network: 'lan-net', port: 1234, p2pVersion: 8, blockVersion: 11, timestampMs: Date.now(), query: false })
    const sock = dgram.createSocket('udp4')
    await new Promise<void>(resolve => sock.bind(0, '127.0.91.1', resolve))
    // UDP may drop some of a burst this size; whatever arrives beyond the bucket is refused.
    for (let i = 0; i < 2000; i++) sock.send(datagram, port, '127.0.0.1')
    await waitFor(() => lan.stats.received >= 200, { what: 'the flood to arrive' })
    expect(lan.stats.accepted).toBeLessThanOrEqual(10) // burst 5, 2/s
    expect(lan.stats.ignored.get('rate-limited')).toBeGreaterThanOrEqual(lan.stats.received - 10)
    sock.close()
    // Many sources: the limiter's memory stays at its bound.
    const socks = await Promise.all(Array.from({ length: 200 }, async (_, i) => {
      const s = dgram.createSocket('udp4')
      await new Promise<void>(resolve => s.bind(0, `127.0.92.${i + 1}`, resolve))
      return s
    }))
    const before = lan.stats.received
    for (const s of socks) s.send(datagram, port, '127.0.0.1')
    await waitFor(() => lan.stats.received >= before + 150, { what: 'datagrams from 200 sources' })
    expect(lan.sourcesTracked).toBeLessThanOrEqual(64)
    for (const s of socks) s.close()
    // Oversized datagrams are dropped unread.
    const big = dgram.createSocket('udp4')
    await new Promise<void>(resolve => big.bind(0, '127.0.93.1', resolve))
    big.send(Buffer.alloc(2000), port, '127.0.0.1')
    await waitFor(() => (lan.stats.ignored.get('too-large') ?? 0) === 1)
    big.close()
  })
})
