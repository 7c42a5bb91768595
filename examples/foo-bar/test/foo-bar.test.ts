import { afterEach, describe, expect, it } from 'vitest'
import { TestNetwork } from '@switchyard/testing'
import { FooBarChannel, FooBarReactor } from '@switchyard/example-foo-bar'

let net: TestNetwork | undefined
afterEach(async () => { await net?.stop() })

describe('foo-bar sub-protocol', () => {
  it('answers "bar" to "foo", both ways, between every pair of a 3-node network', async () => {
    net = await TestNetwork.start({ size: 3, reactors: () => ({ foobar: new FooBarReactor() }), topology: 'full' })
    for (const n of net.nodes) {
      for (const peer of n.switch.peers.values()) {
        expect(await (n.reactors.foobar as FooBarReactor).ask(peer)).toBe('bar')
      }
    }
  })

  it('a peer sending invalid UTF-8 on the channel is disconnected', async () => {
    net = await TestNetwork.start({ size: 2, reactors: () => ({ foobar: new FooBarReactor() }), topology: 'line' })
    const peer = net.node(0).switch.peers.get(net.node(1).id)!
    peer.trySendBytes(FooBarChannel.id, Buffer.from([0xff, 0xfe]))
    const [, reason] = await new Promise<[unknown, { code: string }]>(resolve => net!.node(1).switch.once('peer:remove', (p, r) => resolve([p, r as { code: string }])))
    expect(reason.code).toBe('ERR_MALFORMED_MESSAGE')
  })
})
