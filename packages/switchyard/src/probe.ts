/**
 * `switchyard probe`: dial one peer, run the handshake, and say what it is — or exactly where and
 * why it failed, in one line, with an exit code per failure class (docs/operators.md).
 */
import net from 'node:net'
import { MConnection, secretHandshake, DelimitedReader, withDeadline } from '@switchyard/conn'
import {
  NetAddress, NodeKey, checkCompatible, makeNodeInfo, nodeIdFromPublicKey, resolveNetAddress, validateNodeInfo,
  MAX_NODE_INFO_SIZE
} from '@switchyard/p2p'
import { PexChannel } from '@switchyard/pex'
import {
  SwitchyardError, decodeNodeInfo, decodePexMessage, encodeDelimited, encodeNodeInfo, encodePexMessage, type NodeInfo
} from '@switchyard/wire'

/** Exit codes, one per failure class. */
export const PROBE_EXIT = {
  ok: 0,
  usage: 2,
  refused: 10,
  tcpTimeout: 11,
  unreachable: 12,
  handshakeTimeout: 13,
  handshakeFailed: 14,
  idMismatch: 15,
  wrongNetwork: 16,
  incompatible: 17,
  noPong: 18
} as const

/** CometBFT's standard channels: advertising them makes us compatible with any CometBFT node. */
const PROBE_CHANNELS = [0x40, 0x20, 0x21, 0x22, 0x23, 0x30, 0x38, 0x60, 0x61, 0x00]

export interface ProbeResult {
  address: string
  ok: boolean
  /** Stable reason code on failure (refused, tcp-timeout, handshake-timeout, id-mismatch, wrong-network, …). */
  reason?: string
  /** One line a person understands. */
  message: string
  exitCode: number
  nodeInfo?: NodeInfo
  peerId?: string
  handshakeMs?: number
  pingMs?: number
  /** Addresses the peer gave when asked (--pex). */
  addrs?: Array<{ id: string, ip: string, port: number }>
}

export interface ProbeOptions {
  chainId?: string
  timeout?: number
  pex?: boolean
  nodeKey?: NodeKey
  /** Source IP for the connection (tests on 127.x.y.z). */
  localAddress?: string
}

function fail (address: string, exitCode: number, reason: string, message: string, extra: Partial<ProbeResult> = {}): ProbeResult {
  return { address, ok: false, reason, message, exitCode, ...extra }
}

export async function probe (target: string, o: ProbeOptions = {}): Promise<ProbeResult> {
  const timeout = o.timeout ?? 5000
  let addr: NetAddress
  try {
    addr = await resolveNetAddress(target)
  } catch (err) {
    const e = err as SwitchyardError
    return fail(target, /resolve/.test(e.message) ? PROBE_EXIT.unreachable : PROBE_EXIT.usage, /resolve/.test(e.message) ? 'dns' : 'bad-address', e.message)
  }
  const where = addr.dialString
  const nodeKey = o.nodeKey ?? NodeKey.generate()
  const started = performance.now()

  // 1. TCP
  const socket = net.connect({ host: addr.ip, port: addr.port, ...(o.localAddress !== undefined ? { localAddress: o.localAddress } : {}) })
  socket.on('error', () => {})
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), timeout)
      socket.once('connect', () => { clearTimeout(timer); resolve() })
      socket.once('error', err => { clearTimeout(timer); reject(err) })
    })
  } catch (err) {
    socket.destroy()
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ECONNREFUSED') return fail(target, PROBE_EXIT.refused, 'refused', `connection refused by ${where}: nothing listens on that port (or a firewall rejects it)`)
    if (code === 'ETIMEDOUT') return fail(target, PROBE_EXIT.tcpTimeout, 'tcp-timeout', `timed out after ${timeout} ms connecting to ${where} (TCP): the host is down or a firewall drops the packets`)
    return fail(target, PROBE_EXIT.unreachable, 'unreachable', `cannot reach ${where}: ${code ?? (err as Error).message}`)
  }
  socket.setNoDelay(true)

  // 2. SecretConnection (key exchange, then authentication)
  let conn
  try {
    conn = await secretHandshake(socket, nodeKey, { timeout: Math.max(1, timeout - (performance.now() - started)) })
  } catch (err) {
    const e = err as SwitchyardError & { stage?: string }
    if (e.code === 'ERR_HANDSHAKE_TIMEOUT') return fail(target, PROBE_EXIT.handshakeTimeout, 'handshake-timeout', `connected to ${where}, but the handshake timed out during ${e.stage ?? 'the key exchange'}: the peer accepted TCP and then stalled (not a CometBFT p2p port, or overloaded)`)
    if (e.code === 'ERR_CONNECTION_CLOSED') return fail(target, PROBE_EXIT.handshakeFailed, 'closed-during-handshake', `${where} closed the connection during the handshake (full, banning us, or not a CometBFT p2p port)`)
    return fail(target, PROBE_EXIT.handshakeFailed, 'handshake-failed', `handshake with ${where} failed: ${e.message} (${e.code ?? 'error'})`)
  }
  const peerId = nodeIdFromPublicKey(conn.remotePublicKey!)
  if (addr.id !== peerId) {
    conn.destroy()
    return fail(target, PROBE_EXIT.idMismatch, 'id-mismatch', `${where} is node ${peerId}, not ${addr.id}: the address book or config has a stale ID for this address`, { peerId })
  }

  // 3. NodeInfo. With a chain ID both ways at once (we learn theirs even when they then refuse
  // ours). Without one we answer theirs with the network it names: CometBFT and Switchyard send
  // their NodeInfo without waiting, and a made-up network would be logged as a rejected peer.
  const ours = (network: string): NodeInfo => makeNodeInfo({ nodeId: nodeKey.id, network, listenAddr: 'tcp://0.0.0.0:0', moniker: 'switchyard-probe', channels: PROBE_CHANNELS })
  let theirs: NodeInfo
  try {
    theirs = await withDeadline(conn, Math.max(1, timeout - (performance.now() - started)), undefined, () => 'the NodeInfo exchange', async () => {
      const reader = new DelimitedReader(conn)
      if (o.chainId !== undefined) conn.write(encodeDelimited(encodeNodeInfo(ours(o.chainId))))
      const body = await reader.read(MAX_NODE_INFO_SIZE, 'NodeInfo')
      reader.release()
      const info = decodeNodeInfo(body)
      if (o.chainId === undefined) conn.write(encodeDelimited(encodeNodeInfo(ours(info.network))))
      return info
    })
  } catch (err) {
    const e = err as SwitchyardError
    if (e.code === 'ERR_HANDSHAKE_TIMEOUT') return fail(target, PROBE_EXIT.handshakeTimeout, 'nodeinfo-timeout', `authenticated ${peerId} at ${where}, but it never sent its NodeInfo`, { peerId })
    return fail(target, PROBE_EXIT.handshakeFailed, 'nodeinfo-failed', `authenticated ${peerId} at ${where}, but the NodeInfo exchange failed: ${e.message}`, { peerId })
  }
  const handshakeMs = performance.now() - started
  const base = { nodeInfo: theirs, peerId, handshakeMs }
  try {
    validateNodeInfo(theirs)
  } catch (err) {
    conn.destroy()
    return fail(target, PROBE_EXIT.incompatible, 'invalid-node-info', `${peerId} sent an invalid NodeInfo: ${(err as Error).message}`, base)
  }
  if (theirs.nodeId !== peerId) {
    conn.destroy()
    return fail(target, PROBE_EXIT.idMismatch, 'id-mismatch', `${where} authenticated as ${peerId} but its NodeInfo says ${theirs.nodeId}`, base)
  }
  if (o.chainId !== undefined && theirs.network !== o.chainId) {
    conn.destroy()
    return fail(target, PROBE_EXIT.wrongNetwork, 'wrong-network', `${peerId} is on network "${theirs.network}", not "${o.chainId}"`, base)
  }
  try {
    checkCompatible(ours(theirs.network), theirs)
  } catch (err) {
    conn.destroy()
    const e = err as SwitchyardError
    return fail(target, PROBE_EXIT.incompatible, e.code === 'ERR_NO_COMMON_CHANNEL' ? 'no-common-channel' : 'incompatible', `${peerId} is incompatible: ${e.message}`, base)
  }

  // 4. A ping (and PEX) over the live connection.
  const m = new MConnection(conn, { channels: PROBE_CHANNELS.map(id => ({ id, priority: 1, sendQueueCapacity: 4, recvMessageCapacity: 22020096 })) })
  try {
    const pingMs = await m.ping(Math.max(1, timeout - (performance.now() - started)))
    let addrs: ProbeResult['addrs']
    if (o.pex === true) {
      addrs = await new Promise<ProbeResult['addrs']>(resolve => {
        const timer = setTimeout(() => resolve(undefined), Math.max(1, timeout - (performance.now() - started)))
        m.on('message', (ch, data) => {
          if (ch !== PexChannel.id) return
          try {
            const msg = decodePexMessage(data)
            if (msg.type === 'addrs') { clearTimeout(timer); resolve(msg.addrs) }
          } catch { /* ignore */ }
        })
        m.trySend(PexChannel.id, encodePexMessage({ type: 'request' }))
      })
    }
    const pexNote = o.pex === true ? (addrs !== undefined ? `; gave ${addrs.length} addresses` : '; did not answer our address request') : ''
    return { address: target, ok: true, message: `${peerId} at ${where}: ${describe(theirs)}; handshake ${handshakeMs.toFixed(1)} ms, ping ${pingMs.toFixed(1)} ms${pexNote}`, exitCode: PROBE_EXIT.ok, ...base, pingMs, ...(addrs !== undefined ? { addrs } : {}) }
  } catch {
    return fail(target, PROBE_EXIT.noPong, 'no-pong', `${peerId} completed the handshake but did not answer a ping (it dropped us: full, or it already has a peer from our IP — allow_duplicate_ip = false, common when all nodes run on one host — or it refused our NodeInfo)`, base)
  } finally {
    m.close()
  }
}

export function describe (n: NodeInfo): string {
  const ch = [...n.channels].map(c => c.toString(16).padStart(2, '0')).join(',')
  return `"${n.moniker}", version ${n.version || '?'}, network ${n.network}, protocol p2p ${n.protocolVersion.p2p} block ${n.protocolVersion.block} app ${n.protocolVersion.app}, channels ${ch}, listening on ${n.listenAddr}`
}
