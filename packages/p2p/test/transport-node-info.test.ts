/** The Transport encodes its NodeInfo once per NodeInfo object, and a new object goes out as it is. */
import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { NodeKey, Transport, makeNodeInfo, upgradeToPeer, type NodeInfo } from '@switchyard/p2p'
import { waitForEvent } from '@switchyard/testing'

const transports: Transport[] = []
afterEach(async () => { await Promise.all(transports.splice(0).map(async t => { await t.close() })) })

describe('Transport NodeInfo', () => {
  it('peers that connect after nodeInfo() starts returning a new object receive the new one', async () => {
    const key = NodeKey.generate()
    const info = (moniker: string): NodeInfo => makeNodeInfo({ nodeId: key.id, network: 'ni', listenAddr: 'tcp://127.0.0.1:1', moniker, channels: [0x40] })
    let current = info('first')
    const t = new Transport({ nodeKey: key, nodeInfo: () => current })
    transports.push(t)
    t.on('connection', c => { c.conn.destroy() })
    const { port } = await t.listen('127.0.0.1', 0)

    const dialerKey = NodeKey.generate()
    const ours = makeNodeInfo({ nodeId: dialerKey.id, network: 'ni', listenAddr: 'tcp://127.0.0.1:2', moniker: 'dialer', channels: [0x40] })
    const monikerSeen = async (): Promise<string> => {
      const s = net.connect(port, '127.0.0.1')
      await waitForEvent(s, 'connect')
      const p = await upgradeToPeer(s, { nodeKey: dialerKey, nodeInfo: ours, expectedPeerId: key.id })
      p.conn.destroy()
      return p.peerNodeInfo.moniker
    }
    expect(await monikerSeen()).toBe('first')
    expect(await monikerSeen()).toBe('first')
    current = info('second')
    expect(await monikerSeen()).toBe('second')
    expect(await monikerSeen()).toBe('second')
  })
})
