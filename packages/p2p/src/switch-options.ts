/**
 * The Switch's public configuration surface: its options, the address-book hook PEX plugs in, and
 * the events it emits. Kept apart from switch.ts, which wires the parts together.
 */
import type { MConnectionOptions } from '@switchyard/conn'
import type { SwitchyardError } from '@switchyard/wire'
import type { NetAddress } from './net-address.js'
import type { NodeInfoOptions } from './node-info.js'
import type { NodeKey } from './node-key.js'
import type { Peer } from './peer.js'
import type { RemoveReason } from './reactor.js'
import type { ReconnectPolicy } from './reconnect.js'
import type { ConnectionFilters, HandshakeRefusal } from './transport.js'

/**
 * What the Switch tells an address book (PEX plugs its AddrBook in here): markGood after a
 * successful outbound connection; addOurAddress and removeAddress when a dial reaches ourselves.
 * markAttempt and markBad are for reactors (PEX) that dial and punish.
 */
export interface AddressBookHook {
  markGood?: (address: NetAddress) => void
  markAttempt?: (address: NetAddress) => void
  markBad?: (address: NetAddress, banMs: number) => void
  addOurAddress?: (address: NetAddress) => void
  removeAddress?: (address: NetAddress) => void
}

export interface SwitchOptions {
  nodeKey: NodeKey
  /** Chain id. */
  network: string
  moniker?: string
  /** Where to listen, e.g. tcp://0.0.0.0:26656; omit to only dial. Port 0 picks a free port. */
  listenAddress?: string
  /** The address to advertise in NodeInfo instead of the listen address. */
  externalAddress?: string
  version?: string
  protocolVersion?: NodeInfoOptions['protocolVersion']
  maxInboundPeers?: number
  maxOutboundPeers?: number
  /** id@host:port entries always kept connected. */
  persistentPeers?: string[]
  /** IDs exempt from the peer limits. */
  unconditionalPeerIds?: string[]
  /** IDs never gossiped by PEX (the Switch only records them). */
  privatePeerIds?: string[]
  allowDuplicateIp?: boolean
  handshakeTimeout?: number
  dialTimeout?: number
  /** Source IP for outgoing connections (default: the OS picks). */
  dialFromAddress?: string
  filters?: ConnectionFilters
  filterTimeout?: number
  /** Inbound handshakes in progress at once; more connections are closed at once (default 256). */
  maxPendingHandshakes?: number
  /** Inbound handshakes in progress at once from one IP (default 4). */
  maxPendingHandshakesPerIp?: number
  /**
   * Resolves DNS names: peers' listen addresses (default: a c-ares query, cancelled on stop) and
   * names we dial (default: dns.lookup, which reads /etc/hosts). Abandoned on stop().
   */
  resolveHost?: (host: string, signal: AbortSignal) => Promise<unknown>
  /** MConnection tuning for every peer (rates, ping, flush throttle, …). */
  connection?: Omit<MConnectionOptions, 'channels'>
  reconnect?: Partial<ReconnectPolicy>
  /** dialPeersAsync spreads dials by a random delay up to this many ms (CometBFT: 3000). */
  dialJitter?: number
  /** dialPeersAsync dials waiting to start; more are refused with ERR_DIAL_QUEUE_FULL (default 1000). */
  maxDialQueue?: number
  /** Messages waiting for a peer's async reactors before we stop reading from it. */
  maxInboundQueue?: number
  /**
   * For this long after a peer connects (ms, default 2000), a second connection with it is taken
   * as a simultaneous dial: both sides keep the one dialed by the lower node ID. Later duplicates
   * are refused.
   */
  simultaneousConnectWindow?: number
  addressBook?: AddressBookHook
}

export interface SwitchEvents {
  'peer:add': [Peer]
  'peer:remove': [Peer, RemoveReason]
  /** A connection (inbound or a dial) that did not become a peer, and why. */
  'peer:rejected': [{ address: string, outbound: boolean, error: SwitchyardError }]
  /** An inbound connection closed before its handshake: every slot, or its IP's share, was taken. */
  'handshake:refused': [{ remote: string, remoteIp: string, reason: HandshakeRefusal }]
}
