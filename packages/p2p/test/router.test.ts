/** Router: channel ownership, decoding, delivery to the owner and subscribers, and reactor failures as ERR_REACTOR. */
import { describe, expect, it } from 'vitest'
import { SwitchyardError } from '@switchyard/wire'
import { NodeKey, Peer, Reactor, ReactorError, channel, makeNodeInfo, type Envelope } from '@switchyard/p2p'
import { Router } from '../src/router.js'

const Text = channel<string, 0x50>({ id: 0x50, priority: 1, message: { encode: s => Buffer.from(s), decode: b => { if (b[0] === 0xff) throw new Error('bad byte'); return Buffer.from(b).toString() } } })
const Other = channel({ id: 0x51, priority: 1 })

function peer (): Peer {
  const key = NodeKey.generate()
  return new Peer(key.id, makeNodeInfo({ nodeId: key.id, network: 'n', listenAddr: 'tcp://127.0.0.1:1', moniker: 'm', channels: [0x50] }), { outbound: false, persistent: false, unconditional: false }, '127.0.0.1', 1)
}

class Fn extends Reactor {
  readonly channels: Array<typeof Text | typeof Other>
  constructor (private readonly fn: (env: Envelope<any>) => void | Promise<void>, chs: Array<typeof Text | typeof Other> = [Text]) { super(); this.channels = chs }
  override receive (env: Envelope<any>): void | Promise<void> { return this.fn(env) }
}

describe('Router', () => {
  it('refuses a second owner for a channel and a second reactor of the same name', () => {
    const r = new Router()
    r.add('a', new Fn(() => {}))
    expect(() => { r.add('b', new Fn(() => {})) }).toThrow(expect.objectContaining({ code: 'ERR_CHANNEL_TAKEN' }))
    expect(() => { r.add('a', new Fn(() => {}, [Other])) }).toThrow(/already added/)
    expect(r.channelIds).toEqual([0x50])
  })

  it('decodes with the channel codec and hands the owner an envelope naming the channel', () => {
    const r = new Router()
    const got: Array<Envelope<any>> = []
    r.add('a', new Fn(env => { got.push(env) }))
    const p = peer()
    const h = r.route(p, 0x50, Buffer.from('hi'))
    expect(typeof h).toBe('function')
    expect((h as () => void)()).toBeUndefined()
    expect(got).toEqual([{ peer: p, channel: Text, channelId: 0x50, message: 'hi' }])
    expect(r.route(p, 0x51, Buffer.from('x'))).toBeUndefined()
  })

  it('an undecodable message is an ERR_MALFORMED_MESSAGE for the peer, and the reactor never sees it', () => {
    const r = new Router()
    let calls = 0
    r.add('a', new Fn(() => { calls++ }))
    const e = r.route(peer(), 0x50, Uint8Array.of(0xff))
    expect(e).toBeInstanceOf(SwitchyardError)
    expect((e as SwitchyardError).code).toBe('ERR_MALFORMED_MESSAGE')
    expect(calls).toBe(0)
  })

  it('a receive that throws (or rejects) becomes ERR_REACTOR naming the reactor; a typed throw is kept', async () => {
    const r = new Router()
    r.add('sync', new Fn(() => { throw new TypeError('boom') }))
    r.add('async', new Fn(async () => { throw new Error('later') }, [Other]))
    const p = peer()
    const sync = r.route(p, 0x50, Buffer.from('x')) as () => void
    expect(sync).toThrow(ReactorError)
    expect(sync).toThrow(expect.objectContaining({ code: 'ERR_REACTOR', reactor: 'sync', callback: 'receive' }))
    const later = (r.route(p, 0x51, Buffer.from('x')) as () => Promise<void>)()
    await expect(later).rejects.toMatchObject({ code: 'ERR_REACTOR', reactor: 'async' })
    const typed = new Router()
    typed.add('t', new Fn(() => { throw new SwitchyardError('ERR_MINE', 'on purpose') }))
    expect(typed.route(p, 0x50, Buffer.from('x')) as () => void).toThrow(expect.objectContaining({ code: 'ERR_MINE' }))
  })

  it('subscribers of a channel get the envelope after the owner, and their back-pressure is returned', async () => {
    const r = new Router()
    const order: string[] = []
    r.add('a', new Fn(() => { order.push('owner') }))
    let release!: () => void
    const unsubscribe = r.subscribe({ channelId: 0x50, push: () => { order.push('sub'); return new Promise<void>(resolve => { release = resolve }) }, end: () => {} })
    r.subscribe({ channelId: 0x51, push: () => { order.push('other channel') }, end: () => {} })
    const result = (r.route(peer(), 0x50, Buffer.from('x')) as () => Promise<void> | undefined)()
    expect(order).toEqual(['owner', 'sub'])
    expect(result).toBeInstanceOf(Promise)
    release()
    await result
    unsubscribe()
    expect(r.subscriberCount).toBe(1)
  })

  it('callEach stops at the first reactor that throws and names it; removePeer tells every reactor despite a throw', () => {
    const r = new Router()
    const seen: string[] = []
    class Life extends Reactor {
      readonly channels = []
      constructor (private readonly name: string, private readonly fail: boolean) { super() }
      override initPeer (): void { seen.push(`init ${this.name}`); if (this.fail) throw new Error('no') }
      override removePeer (): void { seen.push(`remove ${this.name}`); if (this.fail) throw new Error('no') }
    }
    r.add('first', new Life('first', true))
    r.add('second', new Life('second', false))
    const e = r.callEach('initPeer', peer())
    expect(e).toMatchObject({ code: 'ERR_REACTOR', reactor: 'first', callback: 'initPeer' })
    expect(seen).toEqual(['init first'])
    r.removePeer(peer(), undefined)
    expect(seen).toEqual(['init first', 'remove first', 'remove second'])
  })
})
