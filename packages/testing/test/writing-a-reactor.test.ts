// This file is quoted in full in docs/writing-a-reactor.md; a test below keeps the two in step.
import { afterEach, expect, it } from 'vitest'
import { Reactor, channel, peerDataKey, type Envelope, type Peer } from '@switchyard/p2p'
import { TestNetwork, waitFor } from '@switchyard/testing'

// 1. A channel: id, priority, queue size, and the message encoding (a protobufjs type, a codec,
//    or raw bytes when omitted). Here: a height as 8 bytes.
const Heights = channel<bigint>({
  id: 0x90, priority: 3, sendQueueCapacity: 10, recvMessageCapacity: 8,
  message: {
    encode: h => { const b = Buffer.alloc(8); b.writeBigUInt64BE(h); return b },
    decode: b => { if (b.length !== 8) throw new Error('need 8 bytes'); return Buffer.from(b).readBigUInt64BE() }
  }
})
const Height = peerDataKey<bigint>('height')

// 2. The reactor: tells every new peer our height, remembers each peer's, and re-announces.
class HeightReactor extends Reactor {
  readonly channels = [Heights]
  height = 0n
  override addPeer (peer: Peer): void { peer.trySend(Heights, this.height) }
  override receive ({ peer, message }: Envelope<bigint>): void { peer.set(Height, message) }
  async advance (): Promise<void> { this.height++; await this.switch.broadcast(Heights, this.height) }
  heightOf (peer: Peer): bigint | undefined { return peer.get(Height) }
}

// 3. A test on three in-process nodes over loopback.
let net: TestNetwork | undefined
afterEach(async () => { await net?.stop() })

it('every node learns every other node\'s height', async () => {
  const n = await TestNetwork.start({ size: 3, topology: 'full', reactors: () => ({ heights: new HeightReactor() }) })
  net = n
  const heights = (i: number): HeightReactor => n.node(i).reactors.heights as HeightReactor
  // Node i advances to height i + 1.
  for (let i = 0; i < 3; i++) for (let k = 0; k <= i; k++) await heights(i).advance()
  // What each node knows of the others' heights, as "node: heights of the other two".
  const known = (): string[] => [0, 1, 2].map(i => `${i}: ${[0, 1, 2].filter(j => j !== i)
    .map(j => String(heights(i).heightOf(n.node(i).switch.peers.get(n.node(j).id)!))).join(' ')}`)
  const expected = ['0: 2 3', '1: 1 3', '2: 1 2']
  await waitFor(() => known().join() === expected.join(), { what: 'every height to be known' })
  expect(known()).toEqual(expected)
})

it('docs/writing-a-reactor.md quotes this file', async () => {
  const { readFileSync } = await import('node:fs')
  const doc = readFileSync(new URL('../../../docs/writing-a-reactor.md', import.meta.url), 'utf8')
  const self = readFileSync(new URL(import.meta.url), 'utf8')
  const quoted = self.slice(0, self.indexOf("it('docs/writing-a-reactor.md quotes this file'")).trimEnd()
  expect(doc).toContain(quoted)
})
