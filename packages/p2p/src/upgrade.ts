/**
 * One call from a connected socket to an authenticated, compatible peer connection:
 * SecretConnection handshake → (dialer) the key matches the ID we dialed → NodeInfo exchange →
 * validation → the NodeInfo ID matches the key → not ourselves → compatible. Everything runs under
 * one deadline and the caller's AbortSignal; any failure destroys the socket and throws a typed
 * error, and upgradeFailureOf(error) says at which stage, with what was learnt by then (the
 * peer's ID, its NodeInfo) — probe reports from that rather than re-running the steps itself.
 */
import dns from 'node:dns/promises'
import net from 'node:net'
import type { Duplex } from 'node:stream'
import createDebug from 'debug'
import { DelimitedReader, secretHandshake, withDeadline, type AeadName, type SecretConnection } from '@switchyard/conn'
import { decodeNodeInfo, encodeDelimited, encodeNodeInfo, type NodeInfo } from '@switchyard/wire'
import { InvalidNodeInfoError, PeerIdMismatchError, SelfConnectionError, SwitchStoppedError } from './errors.js'
import { splitHostPort, stripScheme } from './host-port.js'
import { nodeIdFromPublicKey, type NodeKey } from './node-key.js'
import { MAX_NODE_INFO_SIZE, checkCompatible, validateNodeInfo } from './node-info.js'

/**
 * Where an upgrade stopped: the key exchange, authentication (both inside the SecretConnection
 * handshake), the check of the key against the dialed ID, the NodeInfo exchange, the checks of the
 * NodeInfo (valid, its ID is the key's, not ourselves), or compatibility (network, versions, channels).
 */
export type UpgradeStage = 'key-exchange' | 'authentication' | 'dialed-id' | 'node-info' | 'node-info-checks' | 'compatibility'

export interface UpgradeFailure {
  stage: UpgradeStage
  /** Known once the peer authenticated. */
  peerId?: string
  /** Known once the peer's NodeInfo arrived and decoded. */
  peerNodeInfo?: NodeInfo
}

const failures = new WeakMap<object, UpgradeFailure>()

/** For an error thrown by upgradeToPeer: the stage it failed at and what was known then. */
export function upgradeFailureOf (err: unknown): UpgradeFailure | undefined {
  return typeof err === 'object' && err !== null ? failures.get(err) : undefined
}

const log = createDebug('switchyard:p2p:upgrade')

export interface UpgradeOptions {
  nodeKey: NodeKey
  /**
   * Ours. A function is called with the peer's NodeInfo and ours is sent only then (a probe that
   * does not know the chain answers with the peer's network, so the peer logs no rejection).
   */
  nodeInfo: NodeInfo | ((theirs: NodeInfo) => NodeInfo)
  /**
   * `nodeInfo` (an object) already encoded with encodeNodeInfoMessage: a listener encodes its
   * NodeInfo once, not at every handshake. It must be the encoding of that very NodeInfo.
   */
  nodeInfoMessage?: Uint8Array
  /** When dialing id@host:port: the peer must authenticate as this ID. */
  expectedPeerId?: string
  /** Milliseconds for the whole upgrade (default 20,000, config.toml's handshake_timeout). */
  timeout?: number
  signal?: AbortSignal
  aead?: AeadName
  /** Resolves a DNS name in the peer's listen_addr (default: dns.lookup); reject to refuse it. */
  resolveHost?: (host: string) => Promise<unknown>
  /** Throws when the peer is not compatible with us (default: checkCompatible). */
  checkCompatible?: (ours: NodeInfo, theirs: NodeInfo) => void
}

export interface PeerConnection {
  /** The encrypted stream, ready for an MConnection. */
  conn: SecretConnection
  /** Node ID derived from the authenticated key. */
  peerId: string
  peerPublicKey: Uint8Array
  peerNodeInfo: NodeInfo
}

/** A NodeInfo as it goes on the wire in the upgrade: length-delimited protobuf. */
export function encodeNodeInfoMessage (info: NodeInfo): Uint8Array {
  return encodeDelimited(encodeNodeInfo(info))
}

export async function upgradeToPeer (socket: Duplex, options: UpgradeOptions): Promise<PeerConnection> {
  const timeout = options.timeout ?? 20_000
  const started = performance.now()
  const at: UpgradeFailure = { stage: 'key-exchange' }
  // Our NodeInfo rides in the frame of our AuthSigMessage (it is public: PEX and /net_info serve it).
  const secretOpts = {
    timeout,
    ...(typeof options.nodeInfo === 'function' ? {} : { followedBy: options.nodeInfoMessage ?? encodeNodeInfoMessage(options.nodeInfo) }),
    onStage: (s: UpgradeStage) => { at.stage = s },
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
    ...(options.aead !== undefined ? { aead: options.aead } : {})
  }
  let conn: SecretConnection | undefined
  try {
    conn = await secretHandshake(socket, options.nodeKey, secretOpts)
    const c = conn
    const peerPublicKey = c.remotePublicKey!
    const peerId = at.peerId = nodeIdFromPublicKey(peerPublicKey)
    at.stage = 'dialed-id'
    if (options.expectedPeerId !== undefined && options.expectedPeerId !== peerId) {
      throw new PeerIdMismatchError('dialed ID', options.expectedPeerId, peerId)
    }
    at.stage = 'node-info'
    // Whole milliseconds: Node keeps one timer list per distinct duration, and a fractional one
    // would make a new list at every handshake.
    const remaining = Math.max(1, Math.ceil(timeout - (performance.now() - started)))
    return await withDeadline(c, remaining, options.signal, () => 'the NodeInfo exchange', async () => {
      const reader = new DelimitedReader(c)
      const body = await reader.read(MAX_NODE_INFO_SIZE, 'NodeInfo')
      reader.release()
      const info = at.peerNodeInfo = decodeNodeInfo(body)
      const ours = typeof options.nodeInfo === 'function' ? options.nodeInfo(info) : options.nodeInfo
      if (typeof options.nodeInfo === 'function') c.write(encodeNodeInfoMessage(ours))
      at.stage = 'node-info-checks'
      validateNodeInfo(info)
      await resolveListenHost(info, options.resolveHost)
      if (info.nodeId !== peerId) throw new PeerIdMismatchError('NodeInfo ID', info.nodeId, peerId)
      if (peerId === options.nodeKey.id) throw new SelfConnectionError(peerId)
      at.stage = 'compatibility'
      ;(options.checkCompatible ?? checkCompatible)(ours, info)
      log('peer %s (%s) accepted', peerId, info.moniker)
      return { conn: c, peerId, peerPublicKey, peerNodeInfo: info }
    })
  } catch (err) {
    conn?.destroy()
    if (typeof err === 'object' && err !== null && !failures.has(err)) failures.set(err, { ...at })
    throw err
  }
}

async function resolveListenHost (info: NodeInfo, resolve: (host: string) => Promise<unknown> = async host => await dns.lookup(host)): Promise<void> {
  const hp = splitHostPort(stripScheme(info.listenAddr))
  if (typeof hp === 'string' || net.isIP(hp.host) !== 0) return
  try {
    await resolve(hp.host)
  } catch (err) {
    // Abandoned because we are stopping: that is the reason, not the peer's address.
    if (err instanceof SwitchStoppedError) throw err
    throw new InvalidNodeInfoError('listen_addr', `cannot resolve ${JSON.stringify(hp.host)} (${(err as Error).message})`)
  }
}
