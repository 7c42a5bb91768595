/**
 * Switchyard against real CometBFT p2p nodes of every line we support (v0.34, v0.37, v0.38, v0.40, v1.0) (interop/cometbft-peer): handshake both ways,
 * refusal of a wrong chain id by both sides, echo of messages of every size, keep-alive, and
 * node_key.json read by each side from the other.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import net from 'node:net'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MConnection } from '@switchyard/conn'
import { NodeKey, loadNodeKey, makeNodeInfo, saveNodeKey, upgradeToPeer, type PeerConnection } from '@switchyard/p2p'
import { GoPeer, buildPeer, interopUnavailable, lines, type Line } from './go-peer.js'
import { patternBytes, waitFor } from '../../test/helpers.js'

const unavailable = interopUnavailable()
if (unavailable !== undefined) console.warn(unavailable)

const ECHO = 0x7e
const channels = [{ id: ECHO, priority: 5, sendQueueCapacity: 100, recvMessageCapacity: 22020096 }]
const running: Array<GoPeer | MConnection | net.Server | net.Socket> = []

afterEach(async () => {
  for (const r of running.splice(0)) {
    if (r instanceof GoPeer) await r.stop()
    else if (r instanceof MConnection) r.close()
    else if (r instanceof net.Server) r.close()
    else r.destroy()
  }
})

function ourInfo (key: NodeKey, port: number, network = 'interop-chain'): ReturnType<typeof makeNodeInfo> {
  return makeNodeInfo({ nodeId: key.id, network, listenAddr: `tcp://127.0.0.1:${port}`, moniker: 'switchyard', channels: [ECHO] })
}

async function startGo (line: Line, args: string[] = []): Promise<{ go: GoPeer, id: string, port: number }> {
  const go = new GoPeer(line, ['-flush-throttle', '10ms', ...args])
  running.push(go)
  const l = await go.listening()
  return { go, id: l.id, port: l.port }
}

async function dialGo (port: number, id: string, key = NodeKey.generate(), network = 'interop-chain'): Promise<PeerConnection> {
  const socket = net.connect(port, '127.0.0.1')
  running.push(socket)
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  return await upgradeToPeer(socket, { nodeKey: key, nodeInfo: ourInfo(key, 1, network), expectedPeerId: id, timeout: 3000 })
}

/** Listens on 127.0.0.1 and upgrades the first inbound connection. */
async function acceptOne (key: NodeKey, network = 'interop-chain'): Promise<{ port: number, peer: Promise<PeerConnection> }> {
  const server = net.createServer()
  running.push(server)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  const peer = new Promise<PeerConnection>((resolve, reject) => {
    server.once('connection', s => { running.push(s); upgradeToPeer(s, { nodeKey: key, nodeInfo: ourInfo(key, port, network), timeout: 3000 }).then(resolve, reject) })
  })
  return { port, peer }
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

async function echoRoundTrip (go: GoPeer, conn: MConnection, messages: Buffer[]): Promise<void> {
  const back: Buffer[] = []
  conn.on('message', (_ch, data) => back.push(data))
  for (const m of messages) expect(await conn.send(ECHO, m)).toBe(true)
  await waitFor(() => back.length === messages.length, 20_000, `${messages.length} echoes`)
  expect(back.map(sha)).toEqual(messages.map(sha))
  for (const m of messages) {
    await go.waitFor(e => e.event === 'received' && e.sha256 === sha(m) && e.size === m.length, 5000, `receipt of ${m.length} bytes`)
  }
}

describe.skipIf(unavailable !== undefined).each(lines)('interop with CometBFT $line (real Go peer)', (l) => {
  beforeAll(() => { buildPeer(l) }, 300_000)

  it('Switchyard dials CometBFT: both accept the handshake, messages of every size echo back intact', async () => {
    const { go, id, port } = await startGo(l, ['-moniker', 'gopeer'])
    const key = NodeKey.generate()
    const peer = await dialGo(port, id, key)
    expect(peer.peerId).toBe(id)
    expect(peer.peerNodeInfo).toMatchObject({ moniker: 'gopeer', network: 'interop-chain', protocolVersion: { p2p: l.p2pVersion, block: 11 } })
    expect(peer.peerNodeInfo.version).toMatch(new RegExp(`^${l.line.slice(1).replace('.', '\\.')}\\.\\d+$`)) // the binary is built from that line
    await go.waitFor(e => e.event === 'peer_added' && e.id === key.id && e.outbound === false, 5000, 'peer_added')
    const conn = new MConnection(peer.conn, { channels })
    running.push(conn)
    const sizes = [0, 1, 100, 1023, 1024, 1025, 4096, 1024 * 1024]
    await echoRoundTrip(go, conn, sizes.map((n, i) => patternBytes(n, i + 1)))
  })

  it('CometBFT dials Switchyard: both accept, many interleaved messages echo back intact', async () => {
    const key = NodeKey.generate()
    const { port, peer } = await acceptOne(key)
    const { go, id } = await startGo(l, ['-dial', `${key.id}@127.0.0.1:${port}`])
    const p = await peer
    expect(p.peerId).toBe(id)
    await go.waitFor(e => e.event === 'peer_added' && e.id === key.id && e.outbound === true, 5000, 'peer_added')
    const conn = new MConnection(p.conn, { channels })
    running.push(conn)
    await echoRoundTrip(go, conn, Array.from({ length: 60 }, (_, i) => patternBytes((i * 7919) % 5000, i)))
  })

  it('a wrong chain id is refused by both sides (we dial)', async () => {
    const { go, id, port } = await startGo(l)
    await expect(dialGo(port, id, NodeKey.generate(), 'other-chain')).rejects.toMatchObject({ code: 'ERR_WRONG_NETWORK', theirs: 'interop-chain', ours: 'other-chain' })
    const refusal = await go.waitFor(e => e.event === 'log' && /different network/.test(JSON.stringify(e.kv)), 5000, 'refusal log')
    expect(JSON.stringify(refusal.kv)).toMatch(/other-chain/)
    expect(go.events.some(e => e.event === 'peer_added')).toBe(false)
  })

  it('a wrong chain id is refused by both sides (CometBFT dials)', async () => {
    const key = NodeKey.generate()
    const { port, peer } = await acceptOne(key, 'other-chain')
    const { go } = await startGo(l, ['-dial', `${key.id}@127.0.0.1:${port}`])
    await expect(peer).rejects.toMatchObject({ code: 'ERR_WRONG_NETWORK', theirs: 'interop-chain' })
    await go.waitFor(e => e.event === 'log' && /different network/.test(JSON.stringify(e.kv)), 5000, 'refusal log')
    expect(go.events.some(e => e.event === 'peer_added')).toBe(false)
  })

  it('keep-alive: with short ping settings the connection survives idle time on both sides', async () => {
    const { go, id, port } = await startGo(l, ['-ping-interval', '150ms', '-pong-timeout', '100ms'])
    const key = NodeKey.generate()
    const peer = await dialGo(port, id, key)
    const conn = new MConnection(peer.conn, { channels, pingInterval: 150, pongTimeout: 100 })
    running.push(conn)
    await go.waitFor(e => e.event === 'peer_added', 5000)
    // Our pings answered by Go, for well over several of Go's own ping intervals.
    await waitFor(() => conn.status().pongsReceived >= 8, 10_000, 'eight pongs from CometBFT')
    expect(conn.isClosed).toBe(false)
    expect(go.events.some(e => e.event === 'peer_removed')).toBe(false)
    await echoRoundTrip(go, conn, [Buffer.from('still here')])
  })

  it('node_key.json written by CometBFT loads in Switchyard with the same node ID, and ours in CometBFT', async () => {
    const { go, id } = await startGo(l)
    await go.stop()
    expect((await loadNodeKey(join(go.home, 'node_key.json'))).id).toBe(id)
    const home = mkdtempSync(join(tmpdir(), 'swy-key-'))
    const ours = NodeKey.generate()
    await saveNodeKey(join(home, 'node_key.json'), ours)
    writeFileSync(join(home, 'addrbook.json'), '')
    const go2 = new GoPeer(l, [], home)
    running.push(go2)
    expect((await go2.listening()).id).toBe(ours.id)
  })
})
