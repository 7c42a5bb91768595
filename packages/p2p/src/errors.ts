import { SwitchyardError } from '@switchyard/wire'

/** node_key.json is missing a field, has the wrong key type, or its key bytes do not agree. */
export class NodeKeyFileError extends SwitchyardError {
  readonly path: string
  constructor (path: string, problem: string, options?: { cause?: unknown }) {
    super('ERR_NODE_KEY_FILE', `${path}: ${problem}`, options)
    this.path = path
  }
}

/** A file we must not overwrite already exists. */
export class FileExistsError extends SwitchyardError {
  readonly path: string
  constructor (path: string) {
    super('ERR_FILE_EXISTS', `${path} already exists; refusing to overwrite it`)
    this.path = path
  }
}

/** A peer's NodeInfo breaks one of the validation rules; `field` names it. */
export class InvalidNodeInfoError extends SwitchyardError {
  readonly field: string
  constructor (field: string, problem: string) {
    super('ERR_INVALID_NODE_INFO', `invalid NodeInfo ${field}: ${problem}`)
    this.field = field
  }
}

/** The peer is on another chain. */
export class WrongNetworkError extends SwitchyardError {
  readonly ours: string
  readonly theirs: string
  constructor (ours: string, theirs: string) {
    super('ERR_WRONG_NETWORK', `peer is on network ${JSON.stringify(theirs)}, we are on ${JSON.stringify(ours)}`)
    this.ours = ours
    this.theirs = theirs
  }
}

/** The peer speaks another block protocol version. */
export class WrongBlockVersionError extends SwitchyardError {
  readonly ours: number
  readonly theirs: number
  constructor (ours: number, theirs: number) {
    super('ERR_WRONG_BLOCK_VERSION', `peer is on block protocol version ${theirs}, we are on ${ours}`)
    this.ours = ours
    this.theirs = theirs
  }
}

/** We and the peer share no channel. */
export class NoCommonChannelError extends SwitchyardError {
  constructor (ours: Uint8Array, theirs: Uint8Array) {
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase()
    super('ERR_NO_COMMON_CHANNEL', `peer has no channel in common with us (ours: ${hex(ours)}; theirs: ${hex(theirs) || 'none'})`)
  }
}

/** The authenticated key does not belong to the ID we dialed, or to the ID in the peer's NodeInfo. */
export class PeerIdMismatchError extends SwitchyardError {
  readonly expected: string
  readonly actual: string
  constructor (what: string, expected: string, actual: string) {
    super('ERR_PEER_ID_MISMATCH', `${what}: expected ${expected}, the peer authenticated as ${actual}`)
    this.expected = expected
    this.actual = actual
  }
}

/** We connected to ourselves (the same node ID). */
export class SelfConnectionError extends SwitchyardError {
  constructor (id: string) {
    super('ERR_SELF_CONNECTION', `connected to ourselves (${id})`)
  }
}

export const p2pErrorCodes = [
  'ERR_NODE_KEY_FILE', 'ERR_FILE_EXISTS', 'ERR_INVALID_NODE_INFO', 'ERR_WRONG_NETWORK', 'ERR_WRONG_BLOCK_VERSION',
  'ERR_NO_COMMON_CHANNEL', 'ERR_PEER_ID_MISMATCH', 'ERR_SELF_CONNECTION'
] as const

/** Dialing did not connect within dialTimeout. */
export class DialTimeoutError extends SwitchyardError {
  constructor (address: string, timeoutMs: number) {
    super('ERR_DIAL_TIMEOUT', `dialing ${address} timed out after ${timeoutMs} ms`)
  }
}

/** The TCP connection could not be made (refused, unreachable, …); `cause` is the system error. */
export class DialFailedError extends SwitchyardError {
  constructor (address: string, cause: unknown) {
    super('ERR_DIAL_FAILED', `dialing ${address} failed: ${(cause as Error)?.message ?? String(cause)}`, { cause })
  }
}

/** An operator filter (by IP or by ID) refused the connection, or did not answer in time. */
export class FilteredError extends SwitchyardError {
  constructor (what: string, cause?: unknown) {
    super('ERR_FILTERED', `connection refused by the ${what} filter${cause !== undefined ? `: ${(cause as Error)?.message ?? String(cause)}` : ''}`, { cause })
  }
}

/** A peer with this ID is already connected (or being dialed). */
export class DuplicatePeerError extends SwitchyardError {
  constructor (id: string) {
    super('ERR_DUPLICATE_PEER', `peer ${id} is already connected`)
  }
}

/** A peer from this IP is already connected and duplicate IPs are not allowed. */
export class DuplicateIpError extends SwitchyardError {
  constructor (ip: string) {
    super('ERR_DUPLICATE_IP', `a peer from ${ip} is already connected (allowDuplicateIp is off)`)
  }
}

/** The inbound or outbound peer limit is reached. */
export class TooManyPeersError extends SwitchyardError {
  constructor (direction: 'inbound' | 'outbound', limit: number) {
    super('ERR_TOO_MANY_PEERS', `already at the ${direction} peer limit of ${limit}`)
  }
}

/** Two reactors claim the same channel id. */
export class ChannelTakenError extends SwitchyardError {
  constructor (id: number, owner: string, claimant: string) {
    super('ERR_CHANNEL_TAKEN', `channel ${id} belongs to reactor ${JSON.stringify(owner)}; ${JSON.stringify(claimant)} cannot add it`)
  }
}

/** The Switch is stopping or stopped. */
export class SwitchStoppedError extends SwitchyardError {
  constructor () {
    super('ERR_SWITCH_STOPPED', 'the switch is stopped')
  }
}

/** A peer was disconnected on purpose by a reactor or the operator; `reason` says why. */
export class PeerStoppedError extends SwitchyardError {
  constructor (reason: string) {
    super('ERR_PEER_STOPPED', reason)
  }
}

/** A reactor's callback (initPeer, addPeer, receive) threw; only that peer is stopped. `reactor` names it. */
export class ReactorError extends SwitchyardError {
  readonly reactor: string
  readonly callback: string
  constructor (reactor: string, callback: string, cause: unknown) {
    super('ERR_REACTOR', `reactor ${JSON.stringify(reactor)} failed in ${callback}: ${(cause as Error)?.message ?? String(cause)}`, { cause })
    this.reactor = reactor
    this.callback = callback
  }
}

/** dialPeersAsync was handed more addresses than the dial queue holds; the extra ones are not dialed. */
export class DialQueueFullError extends SwitchyardError {
  constructor (address: string, limit: number) {
    super('ERR_DIAL_QUEUE_FULL', `not dialing ${address}: ${limit} dials are already waiting`)
  }
}

export const switchErrorCodes = [
  'ERR_INVALID_ADDRESS', 'ERR_DIAL_TIMEOUT', 'ERR_DIAL_FAILED', 'ERR_FILTERED', 'ERR_DUPLICATE_PEER', 'ERR_DUPLICATE_IP',
  'ERR_TOO_MANY_PEERS', 'ERR_CHANNEL_TAKEN', 'ERR_SWITCH_STOPPED', 'ERR_PEER_STOPPED', 'ERR_REACTOR', 'ERR_DIAL_QUEUE_FULL'
] as const
