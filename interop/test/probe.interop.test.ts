/**
 * `switchyard probe` / `crawl` against real CometBFT nodes with no --chain-id: the probe must present
 * the node's own network, so the node logs no "Inbound Peer rejected" (before, it presented a
 * made-up network and every crawl left such a line on every node).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { probe } from '@switchyard/cli'
import { GoPeer, buildPeer, interopUnavailable, lines } from './go-peer.js'

const unavailable = interopUnavailable()
if (unavailable !== undefined) console.warn(unavailable)

const running: GoPeer[] = []
afterEach(async () => { await Promise.all(running.splice(0).map(async g => { await g.stop() })) })

describe.skipIf(unavailable !== undefined).each(lines)('probe without --chain-id against CometBFT $line', (l) => {
  it('learns the network from the node, pings it, and leaves no rejection in its log', async () => {
    buildPeer(l)
    const go = new GoPeer(l, ['-pex', '-echo-channel', '-1', '-chain-id', 'real-chain-7', '-flush-throttle', '10ms'])
    running.push(go)
    const { id, port } = await go.listening()
    const r = await probe(`${id}@127.0.0.1:${port}`, { pex: true, timeout: 10_000 })
    expect(r).toMatchObject({ ok: true, nodeInfo: { network: 'real-chain-7' } })
    expect(r.pingMs).toBeGreaterThan(0)
    // The node took us as a peer, and logged nothing about refusing one.
    await go.waitFor(e => e.event === 'peer_added' && e.outbound === false, 5000, 'the probe as a peer')
    await go.waitFor(e => e.event === 'peer_removed', 10_000, 'the probe to leave')
    const refusals = go.events.filter(e => e.event === 'log' && /reject|different network|incompatible/i.test(`${String(e.msg)} ${JSON.stringify(e.kv)}`))
    expect(refusals).toEqual([])
  }, 120_000)
})
