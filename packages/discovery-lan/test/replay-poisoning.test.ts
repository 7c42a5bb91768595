/**
 * Replay poisoning (issue 21, item 2): B's signed announcement replayed from an attacker's IP puts
 * B's ID in the victim's book at the attacker's IP. Neither an inbound connection from the real B
 * nor the victim's later successful dial of B's real address may promote that IP: the book ends up
 * with B's real address, proven, and without the attacker's.
 */
import { afterEach, describe, expect, it } from 'vitest'
import dgram from 'node:dgram'
import { NetAddress, NodeKey, Switch } from '@switchyard/p2p'
import { AddrBook, BUCKET_TYPE_NEW, BUCKET_TYPE_OLD } from '@switchyard/pex'
import { LanDiscovery, attachLanDiscovery, encodeAnnouncement } from '@switchyard/discovery-lan'
import { waitFor } from '@switchyard/testing'

const running: Array<{ stop: () => Promise<void> | void }> = []
afterEach(async () => { for (const r of running.splice(0).reverse()) await r.stop() })

const NETWORK = 'lan-net'
const udpPort = 18950 + (process.pid % 40)

/** Two keys with a < b by ID (LAN discovery may let only the lower ID dial). */
function orderedKeys (): [NodeKey, NodeKey] {
  for (;;) {
    const a = NodeKey.generate()
    const b = NodeKey.generate()
    if (a.id !== b.id) return a.id < b.id ? [a, b] : [b, a]
  }
}

async function udpFrom (ip: string): Promise<dgram.Socket> {
  const sock = dgram.createSocket('udp4')
  await new Promise<void>(resolve => sock.bind(0, ip, resolve))
  running.push({ stop: () => { sock.close() } })
  return sock
}

describe('LAN replay poisoning', () => {
  it('a replayed announcement from another IP leaves the book without that IP for that ID', async () => {
    const [victimKey, bKey] = orderedKeys()
    const victimIp = '127.0.94.1'
    const bIp = '127.0.94.2'
    const attackerIp = '127.0.94.66'

    const book = new AddrBook({ strict: true })
    const victim = new Switch({ nodeKey: victimKey, network: NETWORK, listenAddress: `tcp://${victimIp}:0`, dialFromAddress: victimIp, addressBook: book, dialTimeout: 1000 })
    await victim.start()
    running.push(victim)
    const lan = new LanDiscovery({
      nodeKey: victimKey, network: NETWORK, listenPort: Number(victim.address.split(':').pop()), port: udpPort,
      interface: '127.0.0.1', sourceAddress: victimIp, interval: 60_000
    })
    attachLanDiscovery(lan, victim, book)
    await lan.start()
    running.push(lan)

    const b = new Switch({ nodeKey: bKey, network: NETWORK, listenAddress: `tcp://${bIp}:0`, dialFromAddress: bIp })
    await b.start()
    running.push(b)
    const bPort = Number(b.address.split(':').pop())
    // What B announces; the attacker sends the very same signed bytes from its own IP.
    const announcement = (): Uint8Array => encodeAnnouncement(bKey, { network: NETWORK, port: bPort, p2pVersion: 8, blockVersion: 11, timestampMs: Date.now(), query: false })

    // 1. The replay: B's ID enters the book at the attacker's IP, unproven (the dial there fails).
    const attacker = await udpFrom(attackerIp)
    attacker.send(announcement(), udpPort, '127.0.0.1')
    await waitFor(() => book.get(bKey.id) !== undefined, { what: 'the replayed announcement to reach the book' })
    expect(book.get(bKey.id)).toMatchObject({ addr: { ip: attackerIp }, bucketType: BUCKET_TYPE_NEW, lastReached: 0 })

    // 2. The real B connects to the victim: an inbound handshake proves B's ID, not the stored IP.
    const toVictim = await b.dial(NetAddress.parse(victim.address))
    await waitFor(() => victim.peers.has(bKey.id), { what: 'B to connect to the victim' })
    expect(book.get(bKey.id)).toMatchObject({ addr: { ip: attackerIp }, bucketType: BUCKET_TYPE_NEW, lastReached: 0 })
    await b.stopPeerGracefully(toVictim)
    await waitFor(() => !victim.peers.has(bKey.id), { what: 'B to leave' })

    // 3. B's genuine announcement: the victim dials B's real address and the handshake proves it.
    const genuine = await udpFrom(bIp)
    genuine.send(announcement(), udpPort, '127.0.0.1')
    await waitFor(() => victim.peers.get(bKey.id)?.outbound === true, { timeoutMs: 20_000, what: 'the victim to dial B at its real address' })
    const ka = book.get(bKey.id)!
    expect(ka).toMatchObject({ addr: { ip: bIp, port: bPort }, bucketType: BUCKET_TYPE_OLD })
    expect(ka.lastReached).toBeGreaterThan(0)
    expect(book.entries().filter(e => e.addr.ip === attackerIp)).toEqual([])
  })
})
