/**
 * One call from a connected socket to an authenticated, compatible peer connection:
 * SecretConnection handshake → (dialer) the key matches the ID we dialed → NodeInfo exchange →
 * validation → the NodeInfo ID matches the key → not ourselves → compatible. Everything runs under
 * one deadline and the caller's AbortSignal; any failure destroys the socket and throws a typed error.
 */
import dns from 'node:dns/promises'
import net from 'node:net'
import type { Duplex } from 'node:stream'
import createDebug from 'debug'
import { DelimitedReader, secretHandshake, withDeadline, type AeadName, type SecretConnection } from '@switchyard/conn'
import { decodeNodeInfo, encodeDelimited, encodeNodeInfo, type NodeInfo } from '@switchyard/wire'
import { InvalidNodeInfoError, PeerIdMismatchError, SelfConnectionError } from './errors.js'
import { splitHostPort, stripScheme } from './host-port.js'
import { nodeIdFromPublicKey, type NodeKey } from './node-key.js'
import { MAX_NODE_INFO_SIZE, checkCompatible, validateNodeInfo } from './node-info.js'

const log = createDebug('switchyard:p2p:upgrade')

export interface UpgradeOptions {
  nodeKey: NodeKey
  nodeInfo: NodeInfo
  /** When dialing id@host:port: the peer must authenticate as this ID. */
  expectedPeerId?: string
  /** Milliseconds for the whole upgrade (default 20,000, config.toml's handshake_timeout). */
  timeout?: number
  signal?: AbortSignal
  aead?: AeadName
  /** Resolves a DNS name in the peer's listen_addr (default: dns.lookup); reject to refuse it. */
  resolveHost?: (host: string) => Promise<unknown>
}

export interface PeerConnection {
  /** The encrypted stream, ready for an MConnection. */
  conn: SecretConnection
  /** Node ID derived from the authenticated key. */
  peerId: string
  peerPublicKey: Uint8Array
  peerNodeInfo: NodeInfo
}

export async function upgradeToPeer (socket: Duplex, options: UpgradeOptions): Promise<PeerConnection> {
  const timeout = options.timeout ?? 20_000
  const started = performance.now()
  // Our NodeInfo rides in the frame of our AuthSigMessage (it is public: PEX and /net_info serve it).
  const secretOpts = {
    timeout,
    followedBy: encodeDelimited(encodeNodeInfo(options.nodeInfo)),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
    ...(options.aead !== undefined ? { aead: options.aead } : {})
  }
  const conn = await secretHandshake(socket, options.nodeKey, secretOpts)
  const peerPublicKey = conn.remotePublicKey!
  const peerId = nodeIdFromPublicKey(peerPublicKey)
  const remaining = Math.max(1, timeout - (performance.now() - started))
  return await withDeadline(conn, remaining, options.signal, () => 'the NodeInfo exchange', async () => {
    if (options.expectedPeerId !== undefined && options.expectedPeerId !== peerId) {
      throw new PeerIdMismatchError('dialed ID', options.expectedPeerId, peerId)
    }
    const reader = new DelimitedReader(conn)
    const body = await reader.read(MAX_NODE_INFO_SIZE, 'NodeInfo')
    reader.release()
    const info = decodeNodeInfo(body)
    validateNodeInfo(info)
    await resolveListenHost(info, options.resolveHost)
    if (info.nodeId !== peerId) throw new PeerIdMismatchError('NodeInfo ID', info.nodeId, peerId)
    if (peerId === options.nodeKey.id) throw new SelfConnectionError(peerId)
    checkCompatible(options.nodeInfo, info)
    log('peer %s (%s) accepted', peerId, info.moniker)
    return { conn, peerId, peerPublicKey, peerNodeInfo: info }
  })
}

async function resolveListenHost (info: NodeInfo, resolve: (host: string) => Promise<unknown> = async host => await dns.lookup(host)): Promise<void> {
  const hp = splitHostPort(stripScheme(info.listenAddr))
  if (typeof hp === 'string' || net.isIP(hp.host) !== 0) return
  try {
    await resolve(hp.host)
  } catch (err) {
    throw new InvalidNodeInfoError('listen_addr', `cannot resolve ${JSON.stringify(hp.host)} (${(err as Error).message})`)
  }
}
