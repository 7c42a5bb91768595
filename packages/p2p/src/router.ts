/**
 * Routing: which reactor owns each channel, decoding each incoming message with its channel's
 * codec, and handing it to the owner and to the Switch.messages() subscribers. Also the one place
 * reactor callbacks are called, so a throw always becomes a ReactorError naming the reactor.
 */
import createDebug from 'debug'
import { MalformedMessageError, SwitchyardError } from '@switchyard/wire'
import type { Channel } from './channel.js'
import { ChannelTakenError, ReactorError } from './errors.js'
import { messageTypeOf, type MessageByteCounters } from './message-bytes.js'
import type { Peer } from './peer.js'
import type { Envelope, Reactor, RemoveReason } from './reactor.js'

const logError = createDebug('switchyard:p2p:router:error')

export interface Subscriber {
  channelId: number
  /** A promise means "full: wait before delivering more from this peer". */
  push: (env: Envelope<any>) => void | Promise<void>
  /** Called by endSubscribers (the Switch stopping). */
  end: () => void
}

interface Owner { name: string, reactor: Reactor, channel: Channel<any> }

/** A throw from a reactor callback as the error its peer is stopped with. */
function asReactorError (name: string, callback: string, err: unknown): SwitchyardError {
  return err instanceof SwitchyardError ? err : new ReactorError(name, callback, err)
}

export class Router {
  private readonly reactors = new Map<string, Reactor>()
  private readonly byChannel = new Map<number, Owner>()
  private readonly subscribers = new Set<Subscriber>()

  /** `messageBytes`: where received message bytes are counted by type (CometBFT's metric). */
  constructor (readonly messageBytes?: MessageByteCounters) {}

  /** Registers a reactor; throws if the name is taken or a channel id is owned by another. */
  add (name: string, reactor: Reactor): void {
    if (this.reactors.has(name)) throw new Error(`a reactor named ${JSON.stringify(name)} is already added`)
    for (const ch of reactor.channels) {
      const owner = this.byChannel.get(ch.id)
      if (owner !== undefined) throw new ChannelTakenError(ch.id, owner.name, name)
    }
    for (const ch of reactor.channels) this.byChannel.set(ch.id, { name, reactor, channel: ch })
    this.reactors.set(name, reactor)
  }

  get (name: string): Reactor | undefined {
    return this.reactors.get(name)
  }

  get all (): IterableIterator<Reactor> {
    return this.reactors.values()
  }

  get size (): number {
    return this.reactors.size
  }

  /** Every channel, in registration order (our NodeInfo's channels and the MConnection's). */
  get channels (): Array<Channel<any>> {
    return [...this.byChannel.values()].map(o => o.channel)
  }

  get channelIds (): number[] {
    return [...this.byChannel.keys()]
  }

  subscribe (s: Subscriber): () => void {
    this.subscribers.add(s)
    return () => { this.subscribers.delete(s) }
  }

  /** Ends every subscription (each subscriber's end() unsubscribes it). */
  endSubscribers (): void {
    for (const s of [...this.subscribers]) s.end()
    this.subscribers.clear()
  }

  get subscriberCount (): number {
    return this.subscribers.size
  }

  /** Calls `callback` on every reactor; the first throw is returned as the peer's stop reason. */
  callEach (callback: 'initPeer' | 'addPeer', peer: Peer): SwitchyardError | undefined {
    for (const [name, r] of this.reactors) {
      try {
        r[callback]?.(peer)
      } catch (err) {
        const e = asReactorError(name, callback, err)
        logError('%s of reactor %s failed for peer %s: %s', callback, name, peer.id, e.message)
        return e
      }
    }
    return undefined
  }

  /** removePeer on every reactor; a throw is logged and the others are still told. */
  removePeer (peer: Peer, reason: RemoveReason): void {
    for (const [name, r] of this.reactors) {
      try {
        r.removePeer?.(peer, reason)
      } catch (err) {
        logError('removePeer of reactor %s failed for peer %s: %s', name, peer.id, (err as Error)?.message ?? String(err))
      }
    }
  }

  /**
   * Decodes a message and returns the handler that delivers it, or the error to stop the peer
   * with. The handler throws/rejects only with a SwitchyardError (a ReactorError when the reactor
   * itself failed). Undefined when no reactor owns the channel (MConnection refuses those already).
   */
  route (peer: Peer, channelId: number, data: Uint8Array): (() => void | Promise<void>) | SwitchyardError | undefined {
    const owner = this.byChannel.get(channelId)
    if (owner === undefined) return undefined
    let message: unknown
    try {
      message = owner.channel.codec.decode(data)
    } catch (err) {
      return new MalformedMessageError(`peer ${peer.id} sent an undecodable message on channel ${channelId}: ${(err as Error).message}`, { cause: err })
    }
    this.messageBytes?.add('received', messageTypeOf(owner.channel, message), data.length)
    const env: Envelope<any> = { peer, channel: owner.channel, channelId, message }
    return () => {
      let r: void | Promise<void>
      try {
        r = owner.reactor.receive?.(env as never)
      } catch (err) {
        throw asReactorError(owner.name, 'receive', err)
      }
      const pending: Array<Promise<void>> = []
      if (r instanceof Promise) pending.push(r.catch(err => { throw asReactorError(owner.name, 'receive', err) }))
      for (const s of this.subscribers) {
        if (s.channelId !== channelId) continue
        const w = s.push(env)
        if (w instanceof Promise) pending.push(w)
      }
      if (pending.length === 1) return pending[0]
      if (pending.length > 1) return Promise.all(pending).then(() => {})
    }
  }
}
