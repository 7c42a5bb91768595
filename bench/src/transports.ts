/**
 * WebSocket against TCP, in one run: the same Switch, SecretConnection and MConnection over each
 * transport, the receiver in a child process that checks every byte. Measures encrypted bulk
 * (64 KiB messages), 200-byte messages per second, and round trips of a 100-byte echo. WebSocket
 * is measured twice: with random masking keys (the default) and with the zero key (`zeroMask`).
 */
import { fork, type ChildProcess } from 'node:child_process'
import { NodeKey, Reactor, Switch, type Envelope, type Peer } from '@switchyard/p2p'
import { resolveLimits, webSocketTransport, wsDialer } from '@switchyard/transport-ws'
import { DATA, ECHO, benchMessage, type FromReceiver, type ToReceiver } from './transport-bench-wire.js'
import { median } from './measures.js'

type Transport = 'tcp' | 'ws' | 'ws-zero-mask'
export interface TransportFigures { transport: Transport, bulkMBs: number, msgsPerSec: number, rttP50us: number, rttP99us: number }

class EchoWaiter extends Reactor {
  readonly channels = [DATA, ECHO]
  private waiter: (() => void) | undefined
  next (): Promise<void> { return new Promise(resolve => { this.waiter = resolve }) }
  override receive (env: Envelope<Uint8Array>): void {
    if (env.channel.id !== ECHO.id) return
    const w = this.waiter
    this.waiter = undefined
    w?.()
  }
}

class Receiver {
  private readonly child: ChildProcess
  private readonly queue: FromReceiver[] = []
  private wake: (() => void) | undefined
  constructor () {
    this.child = fork(new URL('./transport-receiver.js', import.meta.url), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.child.on('message', (m: FromReceiver) => { this.queue.push(m); this.wake?.() })
  }

  async next (timeoutMs = 120_000): Promise<FromReceiver> {
    const deadline = performance.now() + timeoutMs
    while (this.queue.length === 0) {
      if (performance.now() > deadline || this.child.exitCode !== null) throw new Error('the receiver process did not answer')
      await new Promise<void>(resolve => { this.wake = resolve; setTimeout(resolve, 1000) })
    }
    const m = this.queue.shift()!
    if (m.type === 'failed') throw new Error(`the receiver found corrupt data: ${m.reason}`)
    return m
  }

  tell (m: ToReceiver): void { this.child.send(m) }
}

async function stream (peer: Peer, rx: Receiver, count: number, size: number): Promise<number> {
  rx.tell({ type: 'expect', count, size })
  await rx.next()
  const t0 = performance.now()
  for (let i = 0; i < count; i++) {
    const m = benchMessage(i, size)
    if (!peer.trySend(DATA, m) && !(await peer.send(DATA, m))) throw new Error(`message ${i} could not be queued`)
  }
  const done = await rx.next()
  if (done.type !== 'done') throw new Error(`unexpected ${done.type}`)
  return (performance.now() - t0) / 1000
}

async function rtt (peer: Peer, echo: EchoWaiter, iterations: number): Promise<{ p50: number, p99: number }> {
  const msg = Buffer.alloc(100, 7)
  const times: number[] = []
  for (let i = 0; i < iterations + 20; i++) {
    const t0 = performance.now()
    const got = echo.next()
    peer.trySend(ECHO, msg)
    await got
    if (i >= 20) times.push((performance.now() - t0) * 1000) // the first 20 warm up
  }
  times.sort((a, b) => a - b)
  return { p50: times[Math.floor(times.length * 0.5)]!, p99: times[Math.floor(times.length * 0.99)]! }
}

/** Measures both transports `runs` times, alternating, against one receiver process. */
export async function transportBench (runs: number, sizes: { bulkBytes: number, msgCount: number, rttIterations: number }, onFigures: (f: TransportFigures, run: number) => void): Promise<TransportFigures[]> {
  const rx = new Receiver()
  const ready = await rx.next()
  if (ready.type !== 'ready') throw new Error('receiver did not start')
  const echo = new EchoWaiter()
  const sw = new Switch({ nodeKey: NodeKey.generate(), network: 'bench-transports', allowDuplicateIp: true })
  sw.addReactor('echo', echo)
  webSocketTransport(sw)
  // The same WebSocket with an all-zero masking key, under its own scheme so one Switch dials both.
  const zero = wsDialer({ peerId: sw.nodeKey.id, limits: resolveLimits({}), zeroMask: true })
  sw.transport.registerDialer('ws-zero', async (addr, o) => await zero({ ...addr, scheme: 'ws' }, o))
  await sw.start()
  const all: TransportFigures[] = []
  try {
    for (let run = 0; run < runs; run++) {
      for (const transport of ['tcp', 'ws', 'ws-zero-mask'] as const) {
        const peer = await sw.dial(transport === 'tcp' ? ready.tcp : transport === 'ws' ? ready.ws : ready.ws.replace(/^ws:/, 'ws-zero:'))
        const bulkSize = 64 * 1024
        const bulkCount = Math.ceil(sizes.bulkBytes / bulkSize)
        const bulkS = await stream(peer, rx, bulkCount, bulkSize)
        const msgS = await stream(peer, rx, sizes.msgCount, 200)
        const r = await rtt(peer, echo, sizes.rttIterations)
        await sw.stopPeerGracefully(peer)
        const f = { transport, bulkMBs: bulkCount * bulkSize / bulkS / 1e6, msgsPerSec: sizes.msgCount / msgS, rttP50us: r.p50, rttP99us: r.p99 }
        all.push(f)
        onFigures(f, run)
      }
    }
  } finally {
    await sw.stop()
    rx.tell({ type: 'stop' })
  }
  return all
}

export function transportSummary (all: TransportFigures[]): Record<string, number> {
  const med = (t: Transport, k: keyof Omit<TransportFigures, 'transport'>): number => median(all.filter(f => f.transport === t).map(f => f[k]))
  return {
    tcpBulkMBs: med('tcp', 'bulkMBs'),
    wsBulkMBs: med('ws', 'bulkMBs'),
    wsOverTcpBulk: med('ws', 'bulkMBs') / med('tcp', 'bulkMBs'),
    tcpMsgsPerSec: med('tcp', 'msgsPerSec'),
    wsMsgsPerSec: med('ws', 'msgsPerSec'),
    wsOverTcpMsgs: med('ws', 'msgsPerSec') / med('tcp', 'msgsPerSec'),
    tcpRttP50us: med('tcp', 'rttP50us'),
    wsRttP50us: med('ws', 'rttP50us'),
    wsOverTcpRtt: med('ws', 'rttP50us') / med('tcp', 'rttP50us'),
    zeroMaskBulkMBs: med('ws-zero-mask', 'bulkMBs'),
    zeroMaskOverTcpBulk: med('ws-zero-mask', 'bulkMBs') / med('tcp', 'bulkMBs'),
    zeroMaskMsgsPerSec: med('ws-zero-mask', 'msgsPerSec'),
    zeroMaskOverTcpMsgs: med('ws-zero-mask', 'msgsPerSec') / med('tcp', 'msgsPerSec')
  }
}
