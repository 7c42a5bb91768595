/** messageStream: buffering, back-pressure and — above all — no listener left behind. */
import { describe, expect, it } from 'vitest'
import { getEventListeners } from 'node:events'
import { NodeKey, Peer, channel, makeNodeInfo } from '@switchyard/p2p'
import { messageStream } from '../src/message-stream.js'
import { Router } from '../src/router.js'

const Ch = channel({ id: 0x60, priority: 1 })
const key = NodeKey.generate()
const peer = new Peer(key.id, makeNodeInfo({ nodeId: key.id, network: 'n', listenAddr: 'tcp://127.0.0.1:1', moniker: 'm', channels: [0x60] }), { outbound: false, persistent: false, unconditional: false }, '127.0.0.1', 1)
const env = (i: number) => ({ peer, channel: Ch, channelId: 0x60, message: Uint8Array.of(i) })

describe('messageStream', () => {
  it('100 iterators opened and closed leave zero listeners on the caller\'s signal and zero subscriptions', async () => {
    const user = new AbortController()
    const router = new Router()
    const its = Array.from({ length: 100 }, () => messageStream(Ch, { signal: user.signal }, s => router.subscribe(s)))
    expect(getEventListeners(user.signal, 'abort')).toHaveLength(100)
    expect(router.subscriberCount).toBe(100)
    for (const it of its) await it.return!()
    expect(getEventListeners(user.signal, 'abort')).toHaveLength(0)
    expect(router.subscriberCount).toBe(0)
  })

  it('the caller\'s abort ends the iterator and its subscription', async () => {
    const user = new AbortController()
    const router = new Router()
    const it = messageStream(Ch, { signal: user.signal }, s => router.subscribe(s))
    const next = it.next()
    user.abort()
    expect(await next).toEqual({ done: true, value: undefined })
    expect(router.subscriberCount).toBe(0)
  })

  it('endSubscribers (the Switch stopping) ends every iterator and removes its listener from the caller\'s signal', async () => {
    const user = new AbortController()
    const router = new Router()
    const its = Array.from({ length: 3 }, () => messageStream(Ch, { signal: user.signal }, s => router.subscribe(s)))
    router.endSubscribers()
    for (const it of its) expect(await it.next()).toEqual({ done: true, value: undefined })
    expect(getEventListeners(user.signal, 'abort')).toHaveLength(0)
    await expect(messageStream(Ch, {}, () => undefined).next()).resolves.toEqual({ done: true, value: undefined })
  })

  it('delivers in order and holds the sender with a promise once bufferSize messages wait', async () => {
    let push!: (e: ReturnType<typeof env>) => void | Promise<void>
    let end!: () => void
    const it = messageStream(Ch, { bufferSize: 2 }, s => { push = s.push as typeof push; end = s.end; return () => {} })
    expect(push(env(1))).toBeUndefined()
    const held = push(env(2))
    expect(held).toBeInstanceOf(Promise)
    let released = false
    void (held as Promise<void>).then(() => { released = true })
    expect((await it.next()).value?.message).toEqual(Uint8Array.of(1))
    await Promise.resolve()
    expect(released).toBe(true)
    expect((await it.next()).value?.message).toEqual(Uint8Array.of(2))
    end()
    expect(await it.next()).toEqual({ done: true, value: undefined })
  })
})
