/**
 * The Reactor API: a reactor owns channels, hears about peers coming and going, and receives every
 * complete message on its channels. Every method is optional; `receive` may be async — the Switch
 * then processes that peer's messages one at a time through a bounded queue and stops reading from
 * the peer while the queue is full (other peers are not affected).
 */
import type { SwitchyardError } from '@switchyard/wire'
import type { Channel } from './channel.js'
import type { Peer } from './peer.js'
import type { Switch } from './switch.js'

export interface Envelope<T = Uint8Array> {
  peer: Peer
  channel: Channel<T>
  message: T
}

/** Why a peer was removed: the error that ended it, or undefined for a graceful stop. */
export type RemoveReason = SwitchyardError | undefined

export abstract class Reactor {
  /** The channels this reactor owns; ids must be unique across a Switch's reactors. */
  abstract readonly channels: ReadonlyArray<Channel<any>>
  /** Set by Switch.addReactor. */
  switch!: Switch

  /** Before the peer's connection starts: set up per-peer state (peer.data). */
  initPeer? (peer: Peer): void
  /** After the peer's connection started. */
  addPeer? (peer: Peer): void
  /** After the peer's connection stopped. */
  removePeer? (peer: Peer, reason: RemoveReason): void
  /** A complete message on one of this reactor's channels. */
  receive? (envelope: Envelope<any>): void | Promise<void>
  /** Called by Switch.start / Switch.stop. */
  start? (): void | Promise<void>
  stop? (): void | Promise<void>
}
