/** upgradeToPeer names the stage of every failure, with what it learnt by then (upgradeFailureOf). */
import { afterEach, describe, expect, it } from 'vitest'
import type net from 'node:net'
import { secretHandshake } from '@switchyard/conn'
import type { NodeInfo } from '@switchyard/wire'
import { NodeKey, makeNodeInfo, upgradeFailureOf, upgradeToPeer, type NodeInfoOptions, type UpgradeOptions } from '@switchyard/p2p'
import { socketPair } from '../../../test/helpers.js'

const cleanup: Array<{ destroy: () => void }> = []
afterEach(() => { for (const c of cleanup.splice(0)) c.destroy() })

function node (overrides: Partial<NodeInfoOptions> = {}, key = NodeKey.generate()): { key: NodeKey, info: NodeInfo } {
  return { key, info: makeNodeInfo({ nodeId: key.id, network: 'stage-chain', listenAddr: 'tcp://127.0.0.1:26656', moniker: 'n', channels: [0x60], ...overrides }) }
}

async function sockets (): Promise<[net.Socket, net.Socket]> {
  const p = await socketPair()
  cleanup.push(...p)
  return p
}

/** Runs our upgrade against `other`; resolves with our error and its failure record. */
async function failAgainst (other: (s: net.Socket) => Promise<unknown> | void, extra: Partial<UpgradeOptions> = {}): Promise<{ err: { code: string }, f: ReturnType<typeof upgradeFailureOf> }> {
  const [sa, sb] = await sockets()
  const a = node()
  void Promise.resolve(other(sb)).catch(() => {})
  const err = await upgradeToPeer(sa, { nodeKey: a.key, nodeInfo: a.info, timeout: 1000, ...extra }).then(() => { throw new Error('the upgrade succeeded') }, (e: unknown) => e)
  return { err: err as { code: string }, f: upgradeFailureOf(err) }
}

const GO_HTTP_400 = 'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request'

describe('upgradeToPeer stages', () => {
  it('key-exchange: an HTTP server\'s answer is ERR_BAD_EPHEMERAL_KEY that says "HTTP" and names the RPC port', async () => {
    const { err, f } = await failAgainst(s => { s.end(GO_HTTP_400) })
    expect(err).toMatchObject({ code: 'ERR_BAD_EPHEMERAL_KEY', http: true })
    expect((err as unknown as Error).message).toMatch(/answered in HTTP \("HTTP\/1\.1 400 Bad Request"\).*RPC \(26657\), not a p2p port \(26656\)/)
    expect(f).toEqual({ stage: 'key-exchange' })
  })

  it('key-exchange: a short HTTP answer that closes at once says the same', async () => {
    const { err, f } = await failAgainst(s => { s.end('HTTP/1.1 400 Bad Request\r\n\r\n') })
    expect(err).toMatchObject({ code: 'ERR_BAD_EPHEMERAL_KEY', http: true })
    expect(f?.stage).toBe('key-exchange')
  })

  it('authentication: a peer that completes the key exchange, then stalls, times out in authentication', async () => {
    const { err, f } = await failAgainst(async s => {
      // Answer with a valid ephemeral key message, then say nothing more.
      const { encodeDelimited, encodeBytesValue } = await import('@switchyard/wire')
      s.write(encodeDelimited(encodeBytesValue(new Uint8Array(32).fill(9))))
    }, { timeout: 300 })
    expect(err).toMatchObject({ code: 'ERR_HANDSHAKE_TIMEOUT', stage: 'authentication' })
    expect(f).toEqual({ stage: 'authentication' })
  })

  it('dialed-id: the key is not the dialed ID; the peer\'s real ID is reported', async () => {
    const b = node()
    const wrong = NodeKey.generate().id
    const { err, f } = await failAgainst(s => upgradeToPeer(s, { nodeKey: b.key, nodeInfo: b.info }), { expectedPeerId: wrong })
    expect(err).toMatchObject({ code: 'ERR_PEER_ID_MISMATCH', expected: wrong })
    expect(f).toEqual({ stage: 'dialed-id', peerId: b.key.id })
  })

  it('node-info: authenticated, then no NodeInfo, times out with the peer ID known', async () => {
    const b = node()
    const { err, f } = await failAgainst(s => secretHandshake(s, b.key), { timeout: 300 })
    expect(err).toMatchObject({ code: 'ERR_HANDSHAKE_TIMEOUT' })
    expect(f).toEqual({ stage: 'node-info', peerId: b.key.id })
  })

  it('node-info-checks: a NodeInfo claiming another ID fails after the NodeInfo arrived, which is reported', async () => {
    const b = node({ nodeId: NodeKey.generate().id })
    const { err, f } = await failAgainst(s => upgradeToPeer(s, { nodeKey: b.key, nodeInfo: b.info }))
    expect(err).toMatchObject({ code: 'ERR_PEER_ID_MISMATCH' })
    expect(f).toMatchObject({ stage: 'node-info-checks', peerId: b.key.id, peerNodeInfo: { nodeId: b.info.nodeId } })
  })

  it('compatibility: another network is refused at the last stage, with their NodeInfo', async () => {
    const b = node({ network: 'elsewhere' })
    const { err, f } = await failAgainst(s => upgradeToPeer(s, { nodeKey: b.key, nodeInfo: b.info }))
    expect(err).toMatchObject({ code: 'ERR_WRONG_NETWORK', theirs: 'elsewhere' })
    expect(f).toMatchObject({ stage: 'compatibility', peerId: b.key.id, peerNodeInfo: { network: 'elsewhere' } })
  })

  it('checkCompatible can be replaced (probe accepts any network)', async () => {
    const [sa, sb] = await sockets()
    const a = node()
    const b = node({ network: 'elsewhere' })
    const theirs = upgradeToPeer(sb, { nodeKey: b.key, nodeInfo: b.info, checkCompatible: () => {} })
    const ours = await upgradeToPeer(sa, { nodeKey: a.key, nodeInfo: a.info, checkCompatible: () => {} })
    expect(ours.peerNodeInfo.network).toBe('elsewhere')
    cleanup.push(ours.conn, (await theirs).conn)
  })
})
