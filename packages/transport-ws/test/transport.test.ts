import { readFileSync } from 'node:fs'
import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { NodeKey, Switch, type Peer, type RemoveReason } from '@switchyard/p2p'
import { waitFor, waitForEvent } from '@switchyard/testing'
import { resolveLimits, webSocketTransport, wsDialer } from '@switchyard/transport-ws'
import type { SwitchyardError } from '@switchyard/wire'
import { CHAT, httpBase, rawUpgrade, startNode, stopAll } from './helpers.js'

// A self-signed certificate for 127.0.0.1 and localhost, made for these tests only.
const cert = readFileSync(new URL('./fixtures/cert.pem', import.meta.url))
const key = readFileSync(new URL('./fixtures/key.pem', import.meta.url))

afterEach(stopAll)

describe('WebSocket transport', () => {
  it('a TCP peer and a WebSocket peer exchange messages through the same reactor', async () => {
    const hub = await startNode({ ws: { listen: 'ws://127.0.0.1:0' } })
    const tcp = await startNode({ tcp: false })
    const ws = await startNode({ tcp: false })
    await tcp.sw.dial(hub.sw.address)
    const viaWs = await ws.sw.dial(hub.wsAddress!)
    expect(viaWs.id).toBe(hub.sw.nodeKey.id)
    await waitFor(() => hub.sw.peers.size === 2, { what: 'both peers on the hub' })

    await tcp.sw.peers.get(hub.sw.nodeKey.id)!.send(CHAT, Buffer.from('over tcp'))
    await ws.sw.peers.get(hub.sw.nodeKey.id)!.send(CHAT, Buffer.from('over ws'))
    await waitFor(() => hub.rec.received.length === 2, { what: 'the hub to receive both' })
    expect(hub.rec.received).toEqual(expect.arrayContaining([
      { from: tcp.sw.nodeKey.id, text: 'over tcp' },
      { from: ws.sw.nodeKey.id, text: 'over ws' }
    ]))

    await hub.sw.broadcast(CHAT, Buffer.from('to everyone'))
    await waitFor(() => tcp.rec.received.length === 1 && ws.rec.received.length === 1, { what: 'the broadcast on both transports' })
    expect(ws.rec.received[0]).toEqual({ from: hub.sw.nodeKey.id, text: 'to everyone' })
    expect(tcp.rec.received[0]).toEqual({ from: hub.sw.nodeKey.id, text: 'to everyone' })
  })

  it('carries a 3 MB message intact (fragmented across many WebSocket messages)', async () => {
    const hub = await startNode({ ws: { listen: 'ws://127.0.0.1:0', maxMessageSize: 16 * 1024 } })
    const ws = await startNode({ tcp: false, ws: { sendMessageSize: 16 * 1024 } })
    const peer = await ws.sw.dial(hub.wsAddress!)
    const big = Buffer.alloc(3_000_000)
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 11)) & 0xff
    expect(await peer.send(CHAT, big)).toBe(true)
    await waitFor(() => hub.rec.received.length === 1, { what: 'the large message', timeoutMs: 15_000 })
    expect(hub.rec.bytes[0]!.equals(big)).toBe(true)
  })

  it('dials wss:// with a trusted certificate, and fails on an untrusted one', async () => {
    const hub = await startNode({ ws: { listen: 'wss://127.0.0.1:0', tls: { cert, key } } })
    expect(hub.wsAddress).toMatch(/^wss:\/\//)
    const trusting = await startNode({ tcp: false, ws: { dialTls: { ca: cert } } })
    const peer = await trusting.sw.dial(hub.wsAddress!)
    await peer.send(CHAT, Buffer.from('over tls'))
    await waitFor(() => hub.rec.received.length === 1, { what: 'the message over wss' })
    expect(hub.rec.received[0]).toEqual({ from: trusting.sw.nodeKey.id, text: 'over tls' })

    const untrusting = await startNode({ tcp: false })
    await expect(untrusting.sw.dial(hub.wsAddress!)).rejects.toMatchObject({ code: 'ERR_DIAL_FAILED' })
    expect(hub.sw.peers.has(untrusting.sw.nodeKey.id)).toBe(false)
  })

  it('a persistent ws:// peer is dialed at start and redialed over WebSocket after it is dropped', async () => {
    const hub = await startNode({ ws: { listen: 'ws://127.0.0.1:0' } })
    const node = await startNode({ tcp: false, switch: { persistentPeers: [hub.wsAddress!], reconnect: { interval: 50, jitter: 0 } } })
    await waitFor(() => node.sw.peers.has(hub.sw.nodeKey.id) && hub.sw.peers.has(node.sw.nodeKey.id), { what: 'the persistent peer at start' })
    const first = node.sw.peers.get(hub.sw.nodeKey.id)!
    expect(first.persistent).toBe(true)
    hub.sw.stopPeerForError(hub.sw.peers.get(node.sw.nodeKey.id)!, 'test drops it')
    await waitFor(() => node.sw.peers.get(hub.sw.nodeKey.id) !== undefined && node.sw.peers.get(hub.sw.nodeKey.id) !== first, { what: 'the redial over WebSocket' })
    await node.sw.peers.get(hub.sw.nodeKey.id)!.send(CHAT, Buffer.from('back'))
    await waitFor(() => hub.rec.received.some(r => r.text === 'back'), { what: 'a message after the redial' })
  })

  it('never hands WebSocket addresses to the address book; TCP dials still are', async () => {
    const good: string[] = []
    const hub = await startNode({ ws: { listen: 'ws://127.0.0.1:0' } })
    const dialer = await startNode({ tcp: false, switch: { addressBook: { markGood: a => { good.push(a.toString()) } } } })
    await dialer.sw.dial(hub.wsAddress!)
    expect(good).toEqual([])
    await dialer.sw.stopPeerGracefully(dialer.sw.peers.get(hub.sw.nodeKey.id)!)
    await waitFor(() => !hub.sw.peers.has(dialer.sw.nodeKey.id), { what: 'the ws peer to leave' })
    await dialer.sw.dial(hub.sw.address)
    expect(good).toEqual([hub.sw.address])
  })
})

describe('WebSocket HTTP surface', () => {
  it('/ping is 200 when started and below the inbound limit, 503 when the limit is reached', async () => {
    const hub = await startNode({ ws: { listen: 'ws://127.0.0.1:0' }, switch: { maxInboundPeers: 1 } })
    const before = await fetch(`${httpBase(hub.wsAddress!)}/ping`)
    expect(before.status).toBe(200)
    const member = await startNode({ tcp: false })
    await member.sw.dial(hub.wsAddress!)
    await waitFor(() => hub.sw.peers.size === 1, { what: 'the hub to be full' })
    const full = await fetch(`${httpBase(hub.wsAddress!)}/ping`)
    expect(full.status).toBe(503)
    expect(await full.text()).toMatch(/inbound peer limit/)
  })

  it('/ping is 503 before the Switch starts, 200 once it runs, and the listener stops with the Switch', async () => {
    const sw = new Switch({ nodeKey: NodeKey.generate(), network: 'ws-test' })
    const ws = webSocketTransport(sw, { listen: 'ws://127.0.0.1:0' })
    const base = httpBase((await ws.listen())!)
    const early = await fetch(`${base}/ping`)
    expect(early.status).toBe(503)
    expect(await early.text()).toMatch(/not started/)
    await sw.start()
    expect((await fetch(`${base}/ping`)).status).toBe(200)
    await sw.stop()
    expect(ws.listener!.ready).toBe(false)
    await expect(fetch(`${base}/ping`)).rejects.toThrow()
  })

  it('/ws without a PeerID, or with one not in the allow-list, is 403 and never upgraded', async () => {
    const known = NodeKey.generate().id
    const hub = await startNode({ ws: { listen: 'ws://127.0.0.1:0', allow: id => id === known } })
    const refused: number[] = []
    hub.ws.listener!.on('refused', r => refused.push(r.status))
    expect(await rawUpgrade(hub.wsAddress!, {})).toEqual({ status: 403, upgraded: false })
    expect(await rawUpgrade(hub.wsAddress!, { PeerID: 'not-an-id' })).toEqual({ status: 403, upgraded: false })
    expect(await rawUpgrade(hub.wsAddress!, { PeerID: NodeKey.generate().id })).toEqual({ status: 403, upgraded: false })
    expect(refused).toEqual([403, 403, 403])
    expect(hub.ws.listener!.stats).toEqual({ upgrades: 0, pendingUpgrades: 0, refused: { 403: 3 } })
    // The allow-listed ID is upgraded (101): the check is on the ID, not on every request.
    expect(await rawUpgrade(hub.wsAddress!, { PeerID: known })).toEqual({ status: 101, upgraded: true })
    // A real dialer whose ID is unknown is refused with a typed error before any handshake.
    const stranger = await startNode({ tcp: false })
    await expect(stranger.sw.dial(hub.wsAddress!)).rejects.toMatchObject({ code: 'ERR_WS_UPGRADE_REFUSED', status: 403 })
  })

  it('a PeerID header that lies about the key is dropped after the handshake with ERR_PEER_ID_MISMATCH', async () => {
    const victim = NodeKey.generate().id
    const hub = await startNode({ ws: { listen: 'ws://127.0.0.1:0', allow: id => id === victim } })
    const liar = await startNode({ tcp: false })
    // The liar's dialer claims to be the allow-listed victim; its handshake proves its own key.
    liar.sw.transport.registerDialer('ws', wsDialer({ peerId: victim, limits: resolveLimits({}) }))
    const rejected = waitForEvent<[{ error: SwitchyardError, outbound: boolean }]>(hub.sw, 'peer:rejected')
    await liar.sw.dial(hub.wsAddress!).catch(() => undefined)
    const [{ error, outbound }] = await rejected
    expect(outbound).toBe(false)
    expect(error).toMatchObject({ code: 'ERR_PEER_ID_MISMATCH', expected: victim, actual: liar.sw.nodeKey.id })
    await waitFor(() => liar.sw.peers.size === 0, { what: 'the liar to be disconnected' })
    expect(hub.sw.peers.size).toBe(0)
  })

  it('bounds upgrades in progress per IP (429), and frees the slot when the connection ends', async () => {
    const hub = await startNode({ ws: { listen: 'ws://127.0.0.1:0', maxPendingUpgradesPerIp: 2 } })
    const url = `${hub.wsAddress!.replace(/\/\/[0-9a-f]+@/, '//')}/ws`
    const open = async (): Promise<WebSocket> => {
      const s = new WebSocket(url, { headers: { PeerID: NodeKey.generate().id } })
      s.on('error', () => {})
      await waitForEvent(s, 'open')
      return s
    }
    // Two clients that upgrade and then never start the handshake hold both slots.
    const stalled = [await open(), await open()]
    expect(hub.ws.listener!.pendingUpgrades).toBe(2)
    expect(await rawUpgrade(hub.wsAddress!, { PeerID: NodeKey.generate().id })).toEqual({ status: 429, upgraded: false })
    stalled[0]!.terminate()
    await waitFor(() => hub.ws.listener!.pendingUpgrades === 1, { what: 'the slot to be freed' })
    const third = await open()
    expect(hub.ws.listener!.pendingUpgrades).toBe(2)
    third.terminate()
    stalled[1]!.terminate()
  })

  it('bounds open connections (maxConnections) and closes a connection that sends no request within headersTimeout', async () => {
    const hub = await startNode({ ws: { listen: 'ws://127.0.0.1:0', maxConnections: 2, headersTimeout: 2000 } })
    const [host, port] = hub.wsAddress!.split('@')[1]!.split(':') as [string, string]
    const connect = async (): Promise<net.Socket> => {
      const s = net.connect(Number(port), host)
      s.on('error', () => {})
      await waitForEvent(s, 'connect')
      return s
    }
    const silent = [await connect(), await connect()]
    // The third is over the bound: the server drops it without reading a byte.
    const third = await connect()
    await waitForEvent(third, 'close')
    expect(silent.every(s => !s.destroyed)).toBe(true)
    // The two silent ones are closed by the header timeout (2 s, checked every second).
    await Promise.all(silent.map(async s => { if (!s.destroyed) await waitForEvent(s, 'close', { timeoutMs: 8000 }) }))
    expect((await fetch(`${httpBase(hub.wsAddress!)}/ping`)).status).toBe(200)
  })

  it('a WebSocket message over maxMessageSize drops the connection with ERR_WS_MESSAGE_TOO_LARGE', async () => {
    const hub = await startNode({ ws: { listen: 'ws://127.0.0.1:0', maxMessageSize: 4096 } })
    // This peer sends messages up to 64 KiB: a large write reaches the hub as an oversized message.
    const big = await startNode({ tcp: false, ws: { sendMessageSize: 64 * 1024 } })
    const peer = await big.sw.dial(hub.wsAddress!)
    await waitFor(() => hub.sw.peers.size === 1, { what: 'the peer on the hub' })
    const removed = waitForEvent<[Peer, RemoveReason]>(hub.sw, 'peer:remove')
    await peer.send(CHAT, Buffer.alloc(20_000, 1))
    const [gone, reason] = await removed
    expect(gone.id).toBe(big.sw.nodeKey.id)
    expect(reason).toMatchObject({ code: 'ERR_WS_MESSAGE_TOO_LARGE', limit: 4096 })
    expect(hub.rec.received).toEqual([])
    // The sender learns it too: the hub closed with 1009.
    await waitFor(() => big.sw.peers.size === 0, { what: 'the sender to see the close' })
  })

  it('a message over the bound during the handshake is refused with the typed error too', async () => {
    const hub = await startNode({ ws: { listen: 'ws://127.0.0.1:0', maxMessageSize: 4096 } })
    const url = `${hub.wsAddress!.replace(/\/\/[0-9a-f]+@/, '//')}/ws`
    const s = new WebSocket(url, { headers: { PeerID: NodeKey.generate().id } })
    s.on('error', () => {})
    await waitForEvent(s, 'open')
    const rejected = waitForEvent<[{ error: SwitchyardError }]>(hub.sw, 'peer:rejected')
    s.send(Buffer.alloc(10_000))
    const [{ error }] = await rejected
    expect(error).toMatchObject({ code: 'ERR_WS_MESSAGE_TOO_LARGE', limit: 4096 })
    const [code] = await waitForEvent<[number]>(s, 'close')
    expect(code).toBe(1009)
  })
})
