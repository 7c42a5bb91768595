/**
 * Over real sockets: a reactor callback that throws stops only the peer it was called for, with
 * ERR_REACTOR naming the reactor; messages() leaves no listener behind; receive is typed by channel.
 */
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest'
import { getEventListeners } from 'node:events'
import { NodeKey, Reactor, Switch, channel, type Peer, type ReceivedEnvelope, type RemoveReason } from '@switchyard/p2p'
import { waitFor, waitForEvent } from '@switchyard/testing'

const Ch = channel({ id: 0x40, priority: 1, sendQueueCapacity: 10 })
const Num = channel<number, 0x41>({ id: 0x41, priority: 1, message: { encode: n => Uint8Array.of(n), decode: b => b[0] ?? 0 } })

const switches: Switch[] = []
afterEach(async () => { await Promise.all(switches.splice(0).map(async s => { await s.stop() })) })

/** Throws from one callback for one chosen peer ID; records what it saw. */
class Faulty extends Reactor {
  readonly channels = [Ch]
  victim = ''
  failIn: 'initPeer' | 'addPeer' | 'receive' | '' = ''
  readonly removed: Array<{ id: string, code: string | undefined }> = []
  readonly received: string[] = []
  override initPeer (peer: Peer): void { if (this.failIn === 'initPeer' && peer.id === this.victim) throw new Error('init broke') }
  override addPeer (peer: Peer): void { if (this.failIn === 'addPeer' && peer.id === this.victim) throw new TypeError('add broke') }
  override removePeer (peer: Peer, reason: RemoveReason): void { this.removed.push({ id: peer.id, code: reason?.code }) }
  override receive ({ peer }: ReceivedEnvelope<[typeof Ch]>): void {
    if (this.failIn === 'receive' && peer.id === this.victim) throw new RangeError('receive broke')
    this.received.push(peer.id)
  }
}

async function node (ip: string): Promise<{ sw: Switch, r: Faulty }> {
  const sw = new Switch({ nodeKey: NodeKey.generate(), network: 'iso', listenAddress: `tcp://${ip}:0`, dialFromAddress: ip })
  const r = new Faulty()
  sw.addReactor('faulty', r)
  await sw.start()
  switches.push(sw)
  return { sw, r }
}

async function hubWithTwo (): Promise<{ hub: { sw: Switch, r: Faulty }, bad: Switch, good: Switch }> {
  const hub = await node('127.0.150.1')
  const bad = (await node('127.0.150.2')).sw
  const good = (await node('127.0.150.3')).sw
  hub.r.victim = bad.nodeKey.id
  await good.dial(hub.sw.address)
  await waitFor(() => hub.sw.peers.has(good.nodeKey.id))
  return { hub, bad, good }
}

describe('reactor isolation', () => {
  it('initPeer throws: that connection is refused with ERR_REACTOR naming the reactor; the other peer stays', async () => {
    const { hub, bad, good } = await hubWithTwo()
    hub.r.failIn = 'initPeer'
    const rejected = waitForEvent<[{ error: { code: string, reactor?: string, callback?: string } }]>(hub.sw, 'peer:rejected')
    await bad.dial(hub.sw.address).catch(() => undefined)
    const [{ error }] = await rejected
    expect(error).toMatchObject({ code: 'ERR_REACTOR', reactor: 'faulty', callback: 'initPeer' })
    expect(hub.sw.peers.has(bad.nodeKey.id)).toBe(false)
    expect(hub.sw.peers.has(good.nodeKey.id)).toBe(true)
  })

  it('addPeer throws: that peer is stopped with ERR_REACTOR (rejected, never announced) and removePeer is heard; the other peer stays', async () => {
    const { hub, bad, good } = await hubWithTwo()
    hub.r.failIn = 'addPeer'
    const events: string[] = []
    hub.sw.on('peer:add', p => events.push(`add ${p.id}`))
    hub.sw.on('peer:remove', p => events.push(`remove ${p.id}`))
    const rejected = waitForEvent<[{ address: string, error: { code: string, reactor?: string, callback?: string } }]>(hub.sw, 'peer:rejected')
    await bad.dial(hub.sw.address).catch(() => undefined)
    const [{ address, error }] = await rejected
    expect(address.startsWith(`${bad.nodeKey.id}@`)).toBe(true)
    expect(error).toMatchObject({ code: 'ERR_REACTOR', reactor: 'faulty', callback: 'addPeer' })
    expect(events).toEqual([])
    expect(hub.sw.peers.has(bad.nodeKey.id)).toBe(false)
    expect(hub.r.removed).toEqual([{ id: bad.nodeKey.id, code: 'ERR_REACTOR' }])
    expect(hub.sw.peers.has(good.nodeKey.id)).toBe(true)
  })

  it('receive throws: only the sender is stopped with ERR_REACTOR; the other peer\'s messages still arrive', async () => {
    const { hub, bad, good } = await hubWithTwo()
    hub.r.failIn = 'receive'
    await bad.dial(hub.sw.address)
    const removed = waitForEvent<[Peer, RemoveReason]>(hub.sw, 'peer:remove')
    bad.peers.get(hub.sw.nodeKey.id)!.trySend(Ch, Buffer.from('x'))
    const [peer, reason] = await removed
    expect(peer.id).toBe(bad.nodeKey.id)
    expect(reason).toMatchObject({ code: 'ERR_REACTOR', reactor: 'faulty', callback: 'receive' })
    expect(good.peers.get(hub.sw.nodeKey.id)!.trySend(Ch, Buffer.from('y'))).toBe(true)
    await waitFor(() => hub.r.received.includes(good.nodeKey.id), { what: 'the good peer\'s message' })
  })

  it('isConnected and send are safe during initPeer (false, not a throw)', async () => {
    const hub = await node('127.0.150.4')
    const other = await node('127.0.150.5')
    const seen: string[] = []
    hub.r.initPeer = (peer: Peer): void => { seen.push(`connected=${peer.isConnected} trySend=${peer.trySend(Ch, Buffer.from('early'))}`) }
    await other.sw.dial(hub.sw.address)
    await waitFor(() => seen.length === 1)
    expect(seen).toEqual(['connected=false trySend=false'])
  })
})

describe('bounds, listeners and types', () => {
  it('dialPeersAsync beyond maxDialQueue refuses the extra addresses with ERR_DIAL_QUEUE_FULL events', async () => {
    const sw = new Switch({ nodeKey: NodeKey.generate(), network: 'iso', maxDialQueue: 3, dialJitter: 60_000 })
    await sw.start()
    switches.push(sw)
    const refused: string[] = []
    sw.on('peer:rejected', ({ address, error }) => { if (error.code === 'ERR_DIAL_QUEUE_FULL') refused.push(address) })
    // 16 dials run at once (each waiting out its jitter), 3 wait, the other 5 are refused.
    const addresses = Array.from({ length: 24 }, (_, i) => `${(i + 1).toString(16).padStart(40, '0')}@127.0.150.9:${1000 + i}`)
    sw.dialPeersAsync(addresses)
    expect(refused).toEqual(addresses.slice(19))
    expect(sw.dialQueue).toEqual({ queued: 3, running: 16 })
  })

  it('100 iterators opened and closed on a running switch leave zero listeners and no warning', async () => {
    // Open at once they add none to the Switch's stop signal; with a signal of ours, each removes its own.
    const { sw } = await node('127.0.150.6')
    const warnings: string[] = []
    const onWarning = (w: Error): void => { warnings.push(w.name) }
    process.on('warning', onWarning)
    const stopSignal = (sw as unknown as { stopController: AbortController }).stopController.signal
    const its = Array.from({ length: 100 }, () => sw.messages(Ch))
    expect(getEventListeners(stopSignal, 'abort')).toHaveLength(0)
    for (const it of its) await it.return!()
    const user = new AbortController()
    for (let i = 0; i < 100; i++) await sw.messages(Ch, { signal: user.signal }).return!()
    expect(getEventListeners(stopSignal, 'abort')).toHaveLength(0)
    expect(getEventListeners(user.signal, 'abort')).toHaveLength(0)
    await new Promise(resolve => setImmediate(resolve)) // warnings are emitted on a later tick
    process.off('warning', onWarning)
    expect(warnings).toEqual([])
  })

  it('a reactor\'s receive gets a union discriminated by channelId', () => {
    type Env = ReceivedEnvelope<[typeof Ch, typeof Num]>
    const env = {} as Env
    if (env.channelId === 0x41) expectTypeOf(env.message).toEqualTypeOf<number>()
    else expectTypeOf(env.message).toEqualTypeOf<Uint8Array>()
    // @ts-expect-error 0x42 is not one of the reactor's channels
    expect(env.channelId === 0x42).toBe(false)
  })
})
