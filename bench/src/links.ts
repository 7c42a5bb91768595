/**
 * The transports under test, each reduced to a Link: two sides that can send bytes (with
 * back-pressure) and report what they receive. Both ends live in this process.
 */
import net from 'node:net'
import { once } from 'node:events'
import { MConnection, secretHandshake, type AeadName } from '@switchyard/conn'
import { NodeKey } from '@switchyard/p2p'

export interface Side {
  /** Accepts `data`; false means wait for drained() before sending more. */
  send: (data: Uint8Array) => boolean
  drained: () => Promise<void>
  onReceive: (cb: (data: Uint8Array) => void) => void
}

export interface Link {
  a: Side
  b: Side
  close: () => Promise<void>
}

export async function tcpPair (): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as net.AddressInfo).port
  const accepted = once(server, 'connection')
  const client = net.connect(port, '127.0.0.1')
  await once(client, 'connect')
  const [serverSide] = await accepted as [net.Socket]
  server.close()
  for (const s of [client, serverSide]) s.setNoDelay(true)
  return [client, serverSide]
}

function socketSide (s: net.Socket): Side {
  return {
    send: data => s.write(data),
    drained: async () => { await once(s, 'drain') },
    onReceive: cb => { s.on('data', cb) }
  }
}

export async function rawLink (): Promise<Link> {
  const [a, b] = await tcpPair()
  return { a: socketSide(a), b: socketSide(b), close: async () => { a.destroy(); b.destroy() } }
}

const CH = 0x60
const channels = [{ id: CH, priority: 1, sendQueueCapacity: 256, recvMessageCapacity: 1 << 20 }]

function mconnSide (m: MConnection): Side {
  let pending: Promise<boolean> | undefined
  return {
    send: data => {
      if (m.trySend(CH, data)) return true
      pending = m.send(CH, data)
      return false
    },
    drained: async () => { await pending },
    onReceive: cb => { m.on('message', (_ch, data) => cb(data)) }
  }
}

export async function mconnLink (encrypted: false | AeadName): Promise<Link> {
  const [sa, sb] = await tcpPair()
  let a: MConnection
  let b: MConnection
  if (encrypted === false) {
    a = new MConnection(sa, { channels })
    b = new MConnection(sb, { channels })
  } else {
    const [ca, cb] = await Promise.all([
      secretHandshake(sa, NodeKey.generate(), { aead: encrypted }),
      secretHandshake(sb, NodeKey.generate(), { aead: encrypted })
    ])
    a = new MConnection(ca, { channels })
    b = new MConnection(cb, { channels })
  }
  return { a: mconnSide(a), b: mconnSide(b), close: async () => { a.close(); b.close() } }
}

/** js-libp2p 3.x: TCP + Noise + Yamux, one stream. */
export async function libp2pLink (): Promise<Link> {
  // js-libp2p 3 calls Promise.withResolvers, which Node 20 lacks.
  const P = Promise as unknown as { withResolvers?: () => unknown }
  P.withResolvers ??= function <T> () {
    let resolve!: (v: T) => void
    let reject!: (e: unknown) => void
    const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
  const { createLibp2p } = await import('libp2p')
  const { tcp } = await import('@libp2p/tcp')
  const { noise } = await import('@chainsafe/libp2p-noise')
  const { yamux } = await import('@chainsafe/libp2p-yamux')
  const make = async (): Promise<Awaited<ReturnType<typeof createLibp2p>>> => await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
  const [na, nb] = await Promise.all([make(), make()])
  const inbound = new Promise<unknown>(resolve => {
    void nb.handle('/switchyard-bench/1.0.0', (stream) => { resolve(stream) })
  })
  const sa = await na.dialProtocol(nb.getMultiaddrs()[0]!, '/switchyard-bench/1.0.0')
  const sb = await inbound as typeof sa
  const side = (s: typeof sa): Side => ({
    send: data => s.send(data),
    drained: async () => { await once(s as unknown as EventTarget, 'drain') },
    onReceive: cb => {
      s.addEventListener('message', (evt) => {
        const d = evt.data
        cb(d instanceof Uint8Array ? d : d.subarray())
      })
    }
  })
  return { a: side(sa), b: side(sb), close: async () => { await Promise.all([na.stop(), nb.stop()]) } }
}
