/**
 * The browser dialer, driven here through `ws`'s WHATWG-style WebSocket (no headers: the ID goes in
 * the peer_id query parameter), against the real listener. The same dialer runs in Chromium in
 * examples/browser-chat's test.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { NodeKey } from '@switchyard/p2p'
import { waitFor, waitForEvent } from '@switchyard/testing'
import { browserWebSocketTransport, browserWsDialer, resolveLimits, type WebSocketConstructor } from '@switchyard/transport-ws'
import type { SwitchyardError } from '@switchyard/wire'
import { CHAT, startNode, stopAll } from './helpers.js'

afterEach(stopAll)

// `ws` without options behaves as a browser's WebSocket as far as the dialer can tell.
const HeaderlessWebSocket = WebSocket as unknown as WebSocketConstructor

describe('browser WebSocket dialer (peer_id query parameter)', () => {
  it('is admitted by an allow-list on the ID it names, completes the handshake, and carries messages both ways', async () => {
    const tab = await startNode({ tcp: false })
    browserWebSocketTransport(tab.sw, { WebSocket: HeaderlessWebSocket })
    const hub = await startNode({ ws: { listen: 'ws://127.0.0.1:0', allow: id => id === tab.sw.nodeKey.id } })
    const peer = await tab.sw.dial(hub.wsAddress!)
    expect(peer.id).toBe(hub.sw.nodeKey.id)
    await waitFor(() => hub.sw.peers.has(tab.sw.nodeKey.id), { what: 'the hub to admit the tab' })
    expect(await peer.send(CHAT, Buffer.from('from the tab'))).toBe(true)
    expect(await hub.sw.peers.get(tab.sw.nodeKey.id)!.send(CHAT, Buffer.from('to the tab'))).toBe(true)
    await waitFor(() => hub.rec.received.length === 1 && tab.rec.received.length === 1, { what: 'both messages' })
    expect(hub.rec.received[0]).toEqual({ from: tab.sw.nodeKey.id, text: 'from the tab' })
    expect(tab.rec.received[0]).toEqual({ from: hub.sw.nodeKey.id, text: 'to the tab' })
    expect(hub.ws.listener!.stats.upgrades).toBe(1)
  })

  it('an ID the allow-list does not know is refused before the handshake (ERR_DIAL_FAILED: a browser hides the status)', async () => {
    const tab = await startNode({ tcp: false })
    browserWebSocketTransport(tab.sw, { WebSocket: HeaderlessWebSocket })
    const hub = await startNode({ ws: { listen: 'ws://127.0.0.1:0', allow: () => false } })
    await expect(tab.sw.dial(hub.wsAddress!)).rejects.toMatchObject({ code: 'ERR_DIAL_FAILED' })
    expect(hub.ws.listener!.stats).toMatchObject({ upgrades: 0, refused: { 403: 1 } })
  })

  it('a peer_id that lies about the key is dropped after the handshake with ERR_PEER_ID_MISMATCH', async () => {
    const victim = NodeKey.generate().id
    const hub = await startNode({ ws: { listen: 'ws://127.0.0.1:0', allow: id => id === victim } })
    const liar = await startNode({ tcp: false })
    liar.sw.transport.registerDialer('ws', browserWsDialer({ peerId: victim, limits: resolveLimits({}), WebSocket: HeaderlessWebSocket }))
    const rejected = waitForEvent<[{ error: SwitchyardError, outbound: boolean }]>(hub.sw, 'peer:rejected')
    await liar.sw.dial(hub.wsAddress!).catch(() => undefined)
    const [{ error }] = await rejected
    expect(error).toMatchObject({ code: 'ERR_PEER_ID_MISMATCH', expected: victim, actual: liar.sw.nodeKey.id })
    expect(hub.sw.peers.size).toBe(0)
  })
})
