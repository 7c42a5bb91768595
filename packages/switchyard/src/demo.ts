/**
 * A loopback demonstration of the stack as it stands: two nodes with fresh identities, one listening
 * and one dialing on 127.0.0.1, the full CometBFT handshake (SecretConnection + NodeInfo), then an
 * MConnection carrying messages both ways on two channels, and a graceful stop.
 */
import net from 'node:net'
import { MConnection } from '@switchyard/conn'
import { NodeKey, makeNodeInfo, upgradeToPeer, type PeerConnection } from '@switchyard/p2p'

const CHAT = 0x60
const BULK = 0x61
const channels = [
  { id: CHAT, priority: 5, sendQueueCapacity: 16 },
  { id: BULK, priority: 1, sendQueueCapacity: 16 }
]

export interface DemoResult { listenerId: string, dialerId: string, messages: number, handshakeMs: number }

export async function runDemo (print: (line: string) => void = console.log): Promise<DemoResult> {
  const listenerKey = NodeKey.generate()
  const dialerKey = NodeKey.generate()
  const server = net.createServer()
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve) })
  const port = (server.address() as net.AddressInfo).port
  const info = (key: NodeKey, moniker: string, p: number): ReturnType<typeof makeNodeInfo> =>
    makeNodeInfo({ nodeId: key.id, network: 'switchyard-local', listenAddr: `tcp://127.0.0.1:${p}`, moniker, channels: channels.map(c => c.id) })

  print(`listener ${listenerKey.id} on 127.0.0.1:${port}`)
  print(`dialing ${listenerKey.id}@127.0.0.1:${port} as ${dialerKey.id}`)
  const t0 = performance.now()
  const accepted = new Promise<PeerConnection>((resolve, reject) => {
    server.once('connection', socket => { upgradeToPeer(socket, { nodeKey: listenerKey, nodeInfo: info(listenerKey, 'listener', port) }).then(resolve, reject) })
  })
  const socket = net.connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  const [dialed, inbound] = await Promise.all([
    upgradeToPeer(socket, { nodeKey: dialerKey, nodeInfo: info(dialerKey, 'dialer', 0), expectedPeerId: listenerKey.id }),
    accepted
  ])
  const handshakeMs = performance.now() - t0
  server.close()
  print(`handshake done in ${handshakeMs.toFixed(1)} ms (${dialed.conn.aead}); peer moniker "${dialed.peerNodeInfo.moniker}"`)

  const a = new MConnection(dialed.conn, { channels })
  const b = new MConnection(inbound.conn, { channels })
  let received = 0
  const done = new Promise<void>(resolve => {
    b.on('message', (ch, data) => {
      received++
      if (ch === CHAT) {
        print(`listener got on 0x${ch.toString(16)}: ${data.toString()}`)
        b.trySend(CHAT, Buffer.from(`echo: ${data.toString()}`))
      } else {
        print(`listener got on 0x${ch.toString(16)}: ${data.length} bytes`)
      }
    })
    let echoes = 0
    a.on('message', (_ch, data) => {
      print(`dialer got: ${data.toString()}`)
      if (++echoes === 3) resolve()
    })
  })
  await a.send(BULK, Buffer.alloc(1024 * 1024, 7))
  for (const line of ['hello', 'from the dialer', 'over an encrypted MConnection']) await a.send(CHAT, Buffer.from(line))
  await done
  await a.stop()
  b.close()
  print(`done: ${received} messages delivered, both connections closed`)
  return { listenerId: listenerKey.id, dialerId: dialerKey.id, messages: received, handshakeMs }
}
