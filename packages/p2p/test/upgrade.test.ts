import { afterEach, describe, expect, it } from 'vitest'
import type net from 'node:net'
import { MConnection } from '@switchyard/conn'
import type { NodeInfo } from '@switchyard/wire'
import { NodeKey, makeNodeInfo, upgradeToPeer, type NodeInfoOptions, type UpgradeOptions } from '@switchyard/p2p'
import { collectMessages, socketPair, waitFor } from '../../../test/helpers.js'

const cleanup: Array<{ destroy: () => void } | MConnection> = []
afterEach(() => { for (const c of cleanup.splice(0)) c instanceof MConnection ? c.close() : c.destroy() })

function node (overrides: Partial<NodeInfoOptions> = {}, key = NodeKey.generate()): { key: NodeKey, info: NodeInfo } {
  return {
    key,
    info: makeNodeInfo({ nodeId: key.id, network: 'test-chain', listenAddr: 'tcp://127.0.0.1:26656', moniker: 'n', channels: [0x00, 0x60], ...overrides })
  }
}

async function sockets (): Promise<[net.Socket, net.Socket]> {
  const p = await socketPair()
  cleanup.push(...p)
  return p
}

async function both (a: ReturnType<typeof node>, b: ReturnType<typeof node>, extraA: Partial<UpgradeOptions> = {}, extraB: Partial<UpgradeOptions> = {}) {
  const [sa, sb] = await sockets()
  return await Promise.allSettled([
    upgradeToPeer(sa, { nodeKey: a.key, nodeInfo: a.info, ...extraA }),
    upgradeToPeer(sb, { nodeKey: b.key, nodeInfo: b.info, ...extraB })
  ])
}

describe('upgradeToPeer', () => {
  it('authenticates both sides, exchanges NodeInfo and carries MConnection traffic', async () => {
    const a = node({ moniker: 'alice' })
    const b = node({ moniker: 'bob' })
    const [ra, rb] = await both(a, b, { expectedPeerId: b.key.id })
    if (ra.status !== 'fulfilled' || rb.status !== 'fulfilled') throw new Error('upgrade failed')
    expect(ra.value.peerId).toBe(b.key.id)
    expect(ra.value.peerNodeInfo.moniker).toBe('bob')
    expect(rb.value.peerId).toBe(a.key.id)
    expect(rb.value.peerNodeInfo.moniker).toBe('alice')
    const channels = [{ id: 0x60, priority: 1, sendQueueCapacity: 10 }]
    const ma = new MConnection(ra.value.conn, { channels })
    const mb = new MConnection(rb.value.conn, { channels })
    cleanup.push(ma, mb)
    const got = collectMessages(mb)
    expect(await ma.send(0x60, Buffer.from('hello bob'))).toBe(true)
    await waitFor(() => got.length === 1)
    expect(got[0]!.data.toString()).toBe('hello bob')
  })

  it('sends the whole handshake in two socket writes: its ephemeral key, then AuthSig and NodeInfo in one frame', async () => {
    const a = node({ moniker: 'alice' })
    const b = node({ moniker: 'bob' })
    const [sa, sb] = await sockets()
    const writes: number[] = []
    const realWrite = sa.write.bind(sa) as (c: Buffer) => boolean
    ;(sa as unknown as { write: (c: Buffer) => boolean }).write = c => { writes.push(c.length); return realWrite(c) }
    const [ra, rb] = await Promise.all([
      upgradeToPeer(sa, { nodeKey: a.key, nodeInfo: a.info }),
      upgradeToPeer(sb, { nodeKey: b.key, nodeInfo: b.info })
    ])
    cleanup.push(ra.conn, rb.conn)
    expect(rb.peerNodeInfo.moniker).toBe('alice')
    // The delimited ephemeral key message (35 bytes), then one sealed 1044-byte frame.
    expect(writes).toEqual([35, 1044])
  })

  it('refuses a peer whose key does not match the dialed ID (ERR_PEER_ID_MISMATCH)', async () => {
    const a = node()
    const b = node()
    const [ra] = await both(a, b, { expectedPeerId: NodeKey.generate().id })
    expect(ra).toMatchObject({ status: 'rejected', reason: { code: 'ERR_PEER_ID_MISMATCH', actual: b.key.id } })
  })

  it('refuses a NodeInfo claiming another node\'s ID (ERR_PEER_ID_MISMATCH)', async () => {
    const a = node()
    const impostor = NodeKey.generate()
    const b = node({ nodeId: NodeKey.generate().id }, impostor)
    const [ra] = await both(a, b)
    expect(ra).toMatchObject({ status: 'rejected', reason: { code: 'ERR_PEER_ID_MISMATCH', expected: b.info.nodeId, actual: impostor.id } })
  })

  it('both sides refuse a peer on another network (ERR_WRONG_NETWORK)', async () => {
    const [ra, rb] = await both(node(), node({ network: 'other-chain' }))
    expect(ra).toMatchObject({ status: 'rejected', reason: { code: 'ERR_WRONG_NETWORK', theirs: 'other-chain' } })
    expect(rb).toMatchObject({ status: 'rejected', reason: { code: 'ERR_WRONG_NETWORK', theirs: 'test-chain' } })
  })

  it('refuses another block version and no common channel', async () => {
    const [r1] = await both(node(), node({ protocolVersion: { block: 10 } }))
    expect(r1).toMatchObject({ status: 'rejected', reason: { code: 'ERR_WRONG_BLOCK_VERSION', theirs: 10 } })
    const [r2] = await both(node(), node({ channels: [0x20] }))
    expect(r2).toMatchObject({ status: 'rejected', reason: { code: 'ERR_NO_COMMON_CHANNEL' } })
  })

  it('accepts a peer on another p2p version (CometBFT v1.x says 9)', async () => {
    const [r1] = await both(node(), node({ protocolVersion: { p2p: 9 } }))
    expect(r1.status).toBe('fulfilled')
    if (r1.status === 'fulfilled') cleanup.push(r1.value.conn)
  })

  it('refuses a connection to ourselves (ERR_SELF_CONNECTION)', async () => {
    const key = NodeKey.generate()
    const [ra] = await both(node({}, key), node({}, key))
    expect(ra).toMatchObject({ status: 'rejected', reason: { code: 'ERR_SELF_CONNECTION' } })
  })

  it('refuses an invalid NodeInfo (ERR_INVALID_NODE_INFO) and an unresolvable listen host', async () => {
    const a = node()
    const b = node()
    b.info.moniker = ''
    const [r1] = await both(a, b)
    expect(r1).toMatchObject({ status: 'rejected', reason: { code: 'ERR_INVALID_NODE_INFO', field: 'moniker' } })
    const c = node({ listenAddr: 'tcp://peer.invalid:26656' })
    const [r2] = await both(a, c, { resolveHost: async () => { throw new Error('NXDOMAIN') } })
    expect(r2).toMatchObject({ status: 'rejected', reason: { code: 'ERR_INVALID_NODE_INFO', field: 'listen_addr' } })
  })

  it('refuses an oversized NodeInfo before reading it', async () => {
    const a = node()
    const b = node()
    const big = { ...b.info, moniker: 'x'.repeat(11_000) }
    const [sa, sb] = await sockets()
    const theirs = upgradeToPeer(sb, { nodeKey: b.key, nodeInfo: big, timeout: 2000 }).catch(e => e)
    await expect(upgradeToPeer(sa, { nodeKey: a.key, nodeInfo: a.info })).rejects.toMatchObject({ code: 'ERR_MESSAGE_TOO_LARGE' })
    await theirs
  })

  it('times out when the peer completes the handshake but never sends its NodeInfo', async () => {
    const a = node()
    const b = node()
    const [sa, sb] = await sockets()
    const { secretHandshake } = await import('@switchyard/conn')
    const silent = secretHandshake(sb, b.key)
    await expect(upgradeToPeer(sa, { nodeKey: a.key, nodeInfo: a.info, timeout: 300 })).rejects.toMatchObject({ code: 'ERR_HANDSHAKE_TIMEOUT', stage: 'the NodeInfo exchange' })
    cleanup.push(await silent)
  })

  it('gives up when the AbortSignal fires', async () => {
    const [sa] = await sockets()
    const ac = new AbortController()
    const a = node()
    const p = upgradeToPeer(sa, { nodeKey: a.key, nodeInfo: a.info, signal: ac.signal })
    ac.abort()
    await expect(p).rejects.toMatchObject({ code: 'ERR_ABORTED' })
    expect(sa.destroyed).toBe(true)
  })
})
