/**
 * The transports under test, each reduced to sides that send bytes (with back-pressure) and report
 * what they receive. A kind can listen and dial, so both ends can live in one thread (a Link) or the
 * receiver can run in a worker thread on the other core (see pair.ts).
 */
import net from 'node:net'
import { once } from 'node:events'
import { MConnection, secretHandshake, type AeadName } from '@switchyard/conn'
import { NodeKey } from '@switchyard/p2p'
import { bareFramesSide } from './bare-frames.js'

export interface Side {
  /** Accepts `data`; false means wait for drained() before sending more. */
  send: (data: Uint8Array) => boolean
  drained: () => Promise<void>
  onReceive: (cb: (data: Uint8Array) => void) => void
  close: () => Promise<void>
}

export interface Link { a: Side, b: Side, close: () => Promise<void> }

/** `secret-unpaced:<aead>`: MConnection encrypted with send pacing off (it is on by default). */
export type Kind = 'raw' | 'frames' | 'mconn' | 'secret:native' | 'secret:sodium-native' | 'secret:node:crypto' | `secret-unpaced:${AeadName}` | 'libp2p' | 'hyperswarm'

export interface Listener { addr: string, accepted: Promise<Side>, close: () => Promise<void> }

export function kindName (kind: Kind): string {
  switch (kind) {
    case 'raw': return 'raw net socket'
    case 'frames': return 'bare frames (copy, seal, write; read, open), no MConnection'
    case 'mconn': return 'MConnection plaintext'
    case 'libp2p': return 'js-libp2p tcp+noise+yamux'
    case 'hyperswarm': return 'Hyperswarm secret-stream+protomux'
    default:
      return kind.startsWith('secret-unpaced:')
        ? `MConnection encrypted (${kind.slice('secret-unpaced:'.length)}), pacing off`
        : `MConnection encrypted (${kind.slice('secret:'.length)})`
  }
}

function socketSide (s: net.Socket): Side {
  return {
    send: data => s.write(data),
    drained: async () => { await once(s, 'drain') },
    onReceive: cb => { s.on('data', cb) },
    close: async () => { s.destroy() }
  }
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
    onReceive: cb => { m.on('message', (_ch, data) => cb(data)) },
    close: async () => { m.close() }
  }
}

async function upgradeSocket (kind: Kind, s: net.Socket, initiator: boolean): Promise<Side> {
  s.setNoDelay(true)
  if (kind === 'raw') return socketSide(s)
  if (kind === 'frames') return bareFramesSide(s)
  if (kind === 'mconn') return mconnSide(new MConnection(s, { channels }))
  if (kind === 'hyperswarm') return await hyperswarmSide(s, initiator)
  const unpaced = kind.startsWith('secret-unpaced:')
  const aead = kind.slice(unpaced ? 'secret-unpaced:'.length : 'secret:'.length) as AeadName
  const conn = await secretHandshake(s, NodeKey.generate(), { aead })
  return mconnSide(new MConnection(conn, { channels, pacing: !unpaced }))
}

export async function listen (kind: Kind): Promise<Listener> {
  if (kind === 'libp2p') return await libp2pListen()
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const accepted = new Promise<Side>((resolve, reject) => {
    server.once('connection', s => { upgradeSocket(kind, s, false).then(resolve, reject) })
  })
  return { addr: String((server.address() as net.AddressInfo).port), accepted, close: async () => { server.close() } }
}

export async function dial (kind: Kind, addr: string): Promise<Side> {
  if (kind === 'libp2p') return await libp2pDial(addr)
  const s = net.connect(Number(addr), '127.0.0.1')
  await once(s, 'connect')
  return await upgradeSocket(kind, s, true)
}

/** Both ends in this thread. */
export async function link (kind: Kind): Promise<Link> {
  const l = await listen(kind)
  const [a, b] = await Promise.all([dial(kind, l.addr), l.accepted])
  await l.close()
  return { a, b, close: async () => { await a.close(); await b.close() } }
}

// ---- js-libp2p 3.x: TCP + Noise + Yamux, one stream ----

const PROTOCOL = '/switchyard-bench/1.0.0'

async function libp2pNode (): Promise<any> {
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
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
}

function streamSide (s: any, node: any): Side {
  return {
    send: data => s.send(data),
    // @libp2p/utils' onDrain() stays resolved after the first drain; wait for the event instead.
    drained: async () => { await once(s as EventTarget, 'drain') },
    onReceive: cb => {
      s.addEventListener('message', (evt: { data: Uint8Array | { subarray: () => Uint8Array } }) => {
        const d = evt.data
        cb(d instanceof Uint8Array ? d : d.subarray())
      })
    },
    close: async () => { await node.stop() }
  }
}

async function libp2pListen (): Promise<Listener> {
  const node = await libp2pNode()
  const accepted = new Promise<Side>(resolve => {
    void node.handle(PROTOCOL, (stream: unknown) => { resolve(streamSide(stream, node)) })
  })
  return { addr: node.getMultiaddrs()[0].toString(), accepted, close: async () => {} }
}

async function libp2pDial (addr: string): Promise<Side> {
  const node = await libp2pNode()
  const { multiaddr } = await import('@multiformats/multiaddr')
  const stream = await node.dialProtocol(multiaddr(addr), PROTOCOL)
  return streamSide(stream, node)
}

// ---- Hyperswarm: @hyperswarm/secret-stream (Noise + libsodium secretstream) + protomux, one channel ----

/** protomux's raw bytes encoding (compact-encoding's c.raw), written out to avoid a dependency. */
const rawEncoding = {
  preencode (state: { end: number }, m: Uint8Array) { state.end += m.length },
  encode (state: { buffer: Uint8Array, start: number }, m: Uint8Array) { state.buffer.set(m, state.start); state.start += m.length },
  decode (state: { buffer: Uint8Array, start: number, end: number }) { const b = state.buffer.subarray(state.start, state.end); state.start = state.end; return b }
}

async function hyperswarmSide (s: net.Socket, initiator: boolean): Promise<Side> {
  const { default: SecretStream } = await import('@hyperswarm/secret-stream') as { default: any }
  const { default: Protomux } = await import('protomux') as { default: any }
  const stream = new SecretStream(initiator, s)
  if (await stream.opened === false) throw new Error('secret-stream handshake failed')
  const mux = Protomux.from(stream)
  let receive: (d: Uint8Array) => void = () => {}
  const open = (): any => {
    const channel = mux.createChannel({ protocol: 'switchyard-bench' })
    const message = channel.addMessage({ encoding: rawEncoding, onmessage: (d: Uint8Array) => receive(d) })
    channel.open()
    return message
  }
  let message: any
  if (initiator) {
    message = open()
  } else {
    // protomux refuses a channel the other side opens first unless a pair handler accepts it.
    message = await new Promise(resolve => { mux.pair({ protocol: 'switchyard-bench' }, () => resolve(open())) })
  }
  return {
    send: data => message.send(data) as boolean,
    drained: async () => { await once(stream, 'drain') },
    onReceive: cb => { receive = cb },
    close: async () => { stream.destroy() }
  }
}
