/**
 * The Reactor API: a reactor owns channels, hears about peers coming and going, and receives every
 * complete message on its channels. Every method is optional; `receive` may be async — the Switch
 * then processes that peer's messages one at a time through a bounded queue and stops reading from
 * the peer while the queue is full (other peers are not affected).
 *
 * A callback that throws stops only the peer it was called for, with a ReactorError (ERR_REACTOR)
 * naming the reactor; a SwitchyardError thrown on purpose (a protocol violation) is kept as is.
 */
import type { SwitchyardError } from '@switchyard/wire'
import type { Channel } from './channel.js'
import type { Peer } from './peer.js'
import type { Switch } from './switch.js'

export interface Envelope<T = Uint8Array, Id extends number = number> {
  peer: Peer
  channel: Channel<T, Id>
  /** The channel's id: narrows a reactor's ReceivedEnvelope union to one channel's message type. */
  channelId: Id
  message: T
}

/** The envelope of one channel. */
export type EnvelopeOf<C> = C extends Channel<infer T, infer Id> ? Envelope<T, Id> : never

/**
 * What a reactor with channels `Chs` receives: one envelope type per channel, told apart by
 * `channelId` (`switch (env.channelId) { case 0x20: env.message … }`).
 */
export type ReceivedEnvelope<Chs extends ReadonlyArray<Channel<any, number>>> = EnvelopeOf<Chs[number]>

/** Why a peer was removed: the error that ended it, or undefined for a graceful stop. */
export type RemoveReason = SwitchyardError | undefined

/**
 * Declare the channels as a tuple type to get typed envelopes:
 * `class Mine extends Reactor<[typeof A, typeof B]> { readonly channels = [A, B] as const … }`.
 */
export abstract class Reactor<Chs extends ReadonlyArray<Channel<any, number>> = ReadonlyArray<Channel<any, number>>> {
  /** The channels this reactor owns; ids must be unique across a Switch's reactors. */
  abstract readonly channels: Chs
  /** Set by Switch.addReactor. */
  switch!: Switch

  /** Before the peer's connection starts: set up per-peer state (peer.data). */
  initPeer? (peer: Peer): void
  /** After the peer's connection started. */
  addPeer? (peer: Peer): void
  /** After the peer's connection stopped. */
  removePeer? (peer: Peer, reason: RemoveReason): void
  /** A complete message on one of this reactor's channels. */
  receive? (envelope: ReceivedEnvelope<Chs>): void | Promise<void>
  /** Called by Switch.start / Switch.stop. */
  start? (): void | Promise<void>
  stop? (): void | Promise<void>
}
