/**
 * DefaultNodeInfo: what a node says about itself after the SecretConnection handshake, the rules a
 * received one must satisfy, and the compatibility rules between two nodes (docs/protocol.md §4).
 */
import net from 'node:net'
import type { NodeInfo } from '@switchyard/wire'
import { InvalidNodeInfoError, NoCommonChannelError, WrongBlockVersionError, WrongNetworkError } from './errors.js'
import { isHostname, splitHostPort, stripScheme } from './host-port.js'

export type { NodeInfo } from '@switchyard/wire'

export const MAX_NODE_INFO_SIZE = 10240
export const MAX_NUM_CHANNELS = 16
/** CometBFT v0.34–v0.38 say p2p 8; v1.x says 9. Only `block` is compared. */
export const DEFAULT_P2P_VERSION = 8
export const DEFAULT_BLOCK_VERSION = 11
export const SWITCHYARD_VERSION = '0.1.0'

export interface NodeInfoOptions {
  nodeId: string
  /** The chain id. */
  network: string
  /** Where peers should dial us, e.g. tcp://203.0.113.5:26656 (sent verbatim, as CometBFT does). */
  listenAddr: string
  moniker: string
  channels: Iterable<number>
  version?: string
  protocolVersion?: Partial<{ p2p: number, block: number, app: number }>
  txIndex?: 'on' | 'off' | ''
  rpcAddress?: string
}

export function makeNodeInfo (o: NodeInfoOptions): NodeInfo {
  const info: NodeInfo = {
    protocolVersion: {
      p2p: o.protocolVersion?.p2p ?? DEFAULT_P2P_VERSION,
      block: o.protocolVersion?.block ?? DEFAULT_BLOCK_VERSION,
      app: o.protocolVersion?.app ?? 0
    },
    nodeId: o.nodeId,
    listenAddr: o.listenAddr,
    network: o.network,
    version: o.version ?? SWITCHYARD_VERSION,
    channels: Uint8Array.from(o.channels),
    moniker: o.moniker,
    other: { txIndex: o.txIndex ?? 'off', rpcAddress: o.rpcAddress ?? '' }
  }
  validateNodeInfo(info)
  return info
}

/** Printable ASCII (32–126), not only spaces. */
function isPrintableNonBlank (s: string): boolean {
  return /^[\x20-\x7e]+$/.test(s) && s.trim() !== ''
}

/**
 * Throws InvalidNodeInfoError unless `info` satisfies CometBFT's rules. A host name in listen_addr
 * is checked for syntax here; resolving it is left to the caller (the upgrade does it).
 */
export function validateNodeInfo (info: NodeInfo): void {
  if (!/^[0-9a-fA-F]{40}$/.test(info.nodeId)) throw new InvalidNodeInfoError('default_node_id', `${JSON.stringify(info.nodeId)} is not 40 hex characters`)
  const hp = splitHostPort(stripScheme(info.listenAddr))
  if (typeof hp === 'string') throw new InvalidNodeInfoError('listen_addr', hp)
  if (hp.host === '') throw new InvalidNodeInfoError('listen_addr', `no host in ${JSON.stringify(info.listenAddr)}`)
  if (net.isIP(hp.host) === 0 && !isHostname(hp.host)) throw new InvalidNodeInfoError('listen_addr', `host ${JSON.stringify(hp.host)} is neither an IP address nor a DNS name`)
  if (info.version !== '' && !isPrintableNonBlank(info.version)) throw new InvalidNodeInfoError('version', `must be printable ASCII without tabs, got ${JSON.stringify(info.version)}`)
  if (info.channels.length > MAX_NUM_CHANNELS) throw new InvalidNodeInfoError('channels', `${info.channels.length} channels, at most ${MAX_NUM_CHANNELS} allowed`)
  const seen = new Set<number>()
  for (const c of info.channels) {
    if (seen.has(c)) throw new InvalidNodeInfoError('channels', `duplicate channel id ${c}`)
    seen.add(c)
  }
  if (!isPrintableNonBlank(info.moniker)) throw new InvalidNodeInfoError('moniker', `must be non-empty printable ASCII without tabs, got ${JSON.stringify(info.moniker)}`)
  if (!['', 'on', 'off'].includes(info.other.txIndex)) throw new InvalidNodeInfoError('other.tx_index', `must be "on", "off" or empty, got ${JSON.stringify(info.other.txIndex)}`)
  if (info.other.rpcAddress !== '' && !isPrintableNonBlank(info.other.rpcAddress)) throw new InvalidNodeInfoError('other.rpc_address', `must be printable ASCII, got ${JSON.stringify(info.other.rpcAddress)}`)
}

/**
 * Throws unless the peer can talk to us: same block protocol version, same network, and (when we
 * have channels) at least one channel in common. p2p and app versions are not compared.
 */
export function checkCompatible (ours: NodeInfo, theirs: NodeInfo): void {
  if (ours.protocolVersion.block !== theirs.protocolVersion.block) throw new WrongBlockVersionError(ours.protocolVersion.block, theirs.protocolVersion.block)
  if (ours.network !== theirs.network) throw new WrongNetworkError(ours.network, theirs.network)
  if (ours.channels.length === 0) return
  const theirsSet = new Set(theirs.channels)
  if (!ours.channels.some(c => theirsSet.has(c))) throw new NoCommonChannelError(ours.channels, theirs.channels)
}
