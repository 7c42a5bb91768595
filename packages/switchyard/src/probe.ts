/**
 * `switchyard probe`: dial one peer, run the handshake, and say what it is — or exactly where and
 * why it failed, in one line, with an exit code per failure class (docs/operators.md).
 */
import net from 'node:net'
import type { Duplex } from 'node:stream'
import { MConnection } from '@switchyard/conn'
import {
  NetAddress, NodeKey, checkCompatible, makeNodeInfo, resolveNetAddress, upgradeFailureOf, upgradeToPeer, type PeerConnection
} from '@switchyard/p2p'
import { PexChannel } from '@switchyard/pex'
import { SwitchyardError, decodePexMessage, encodePexMessage, type NodeInfo } from '@switchyard/wire'
import { isWebSocketTarget, openProbeWebSocket } from './probe-ws.js'

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
  if (isWebSocketTarget(target)) return await probeWebSocket(target, o)
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
  return await probeConnected(target, o, socket, addr, where, nodeKey, started)
}

async function probeWebSocket (target: string, o: ProbeOptions): Promise<ProbeResult> {
  const nodeKey = o.nodeKey ?? NodeKey.generate()
  const started = performance.now()
  const opened = await openProbeWebSocket(target, nodeKey, o.timeout ?? 5000, o.localAddress, PROBE_EXIT)
  if ('exitCode' in opened) return fail(target, opened.exitCode, opened.reason, opened.message)
  return await probeConnected(target, o, opened.stream, opened.addr, opened.where, nodeKey, started)
}

/** Steps 2–4 on a connected byte stream (a TCP socket, or a WebSocket's). */
async function probeConnected (target: string, o: ProbeOptions, socket: Duplex, addr: NetAddress, where: string, nodeKey: NodeKey, started: number): Promise<ProbeResult> {
  const timeout = o.timeout ?? 5000

  // 2. The same upgrade the Switch runs (key exchange → authentication → the dialed ID → NodeInfo
  // → checks → compatibility); upgradeFailureOf says where it stopped and what we learnt by then.
  // Without --chain-id we answer the peer's NodeInfo with the network it names: CometBFT and
  // Switchyard send theirs without waiting, and a made-up network would be logged as a rejected peer.
  const ours = (network: string): NodeInfo => makeNodeInfo({ nodeId: nodeKey.id, network, listenAddr: 'tcp://0.0.0.0:0', moniker: 'switchyard-probe', channels: PROBE_CHANNELS })
  let up: PeerConnection
  try {
    up = await upgradeToPeer(socket, {
      nodeKey,
      nodeInfo: o.chainId !== undefined ? ours(o.chainId) : (theirs: NodeInfo) => ours(theirs.network),
      expectedPeerId: addr.id,
      timeout: Math.max(1, timeout - (performance.now() - started)),
      resolveHost: async () => {}, // a listen_addr we cannot resolve is the peer's business, not the probe's
      checkCompatible
    })
  } catch (err) {
    return explainUpgradeFailure(target, where, err as SwitchyardError, performance.now() - started)
  }
  const { conn, peerId, peerNodeInfo: theirs } = up
  const handshakeMs = performance.now() - started
  const base = { nodeInfo: theirs, peerId, handshakeMs }

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

/** One probe result per upgrade stage and error code. */
function explainUpgradeFailure (target: string, where: string, e: SwitchyardError, ms: number): ProbeResult {
  const f = upgradeFailureOf(e) ?? { stage: 'key-exchange' }
  const peerId = f.peerId
  const extra: Partial<ProbeResult> = {
    ...(peerId !== undefined ? { peerId } : {}),
    ...(f.peerNodeInfo !== undefined ? { nodeInfo: f.peerNodeInfo, handshakeMs: ms } : {})
  }
  const theirs = f.peerNodeInfo
  switch (f.stage) {
    case 'key-exchange':
    case 'authentication': {
      const during = (e as SwitchyardError & { stage?: string }).stage ?? (f.stage === 'key-exchange' ? 'the ephemeral key exchange' : 'authentication')
      if (e.code === 'ERR_HANDSHAKE_TIMEOUT') return fail(target, PROBE_EXIT.handshakeTimeout, 'handshake-timeout', `connected to ${where}, but the handshake timed out during ${during}: the peer accepted TCP and then stalled (not a CometBFT p2p port — RPC is 26657, p2p 26656 — or overloaded)`, extra)
      if (e.code === 'ERR_CONNECTION_CLOSED') return fail(target, PROBE_EXIT.handshakeFailed, 'closed-during-handshake', `${where} closed the connection during the handshake (full, banning us, or not a CometBFT p2p port)`, extra)
      if ((e as { http?: boolean }).http === true) return fail(target, PROBE_EXIT.handshakeFailed, 'http-port', `${where} answered in HTTP, not the p2p handshake: this is an HTTP port such as CometBFT's RPC (26657); probe the p2p port (26656 by default, [p2p] laddr)`, extra)
      return fail(target, PROBE_EXIT.handshakeFailed, 'handshake-failed', `handshake with ${where} failed during ${during}: ${e.message} (${e.code ?? 'error'})`, extra)
    }
    case 'dialed-id':
      return fail(target, PROBE_EXIT.idMismatch, 'id-mismatch', `${where} is node ${peerId ?? '?'}, not ${(e as { expected?: string }).expected ?? '?'}: the address book or config has a stale ID for this address`, extra)
    case 'node-info':
      if (e.code === 'ERR_HANDSHAKE_TIMEOUT') return fail(target, PROBE_EXIT.handshakeTimeout, 'nodeinfo-timeout', `authenticated ${peerId ?? '?'} at ${where}, but it never sent its NodeInfo`, extra)
      return fail(target, PROBE_EXIT.handshakeFailed, 'nodeinfo-failed', `authenticated ${peerId ?? '?'} at ${where}, but the NodeInfo exchange failed: ${e.message}`, extra)
    case 'node-info-checks':
      if (e.code === 'ERR_PEER_ID_MISMATCH') return fail(target, PROBE_EXIT.idMismatch, 'id-mismatch', `${where} authenticated as ${peerId ?? '?'} but its NodeInfo says ${theirs?.nodeId ?? '?'}`, extra)
      return fail(target, PROBE_EXIT.incompatible, 'invalid-node-info', `${peerId ?? '?'} sent an invalid NodeInfo: ${e.message}`, extra)
    case 'compatibility':
      if (e.code === 'ERR_WRONG_NETWORK') return fail(target, PROBE_EXIT.wrongNetwork, 'wrong-network', `${peerId ?? '?'} is on network "${theirs?.network ?? '?'}", not "${(e as { ours?: string }).ours ?? '?'}"`, extra)
      return fail(target, PROBE_EXIT.incompatible, e.code === 'ERR_NO_COMMON_CHANNEL' ? 'no-common-channel' : 'incompatible', `${peerId ?? '?'} is incompatible: ${e.message}`, extra)
  }
}

export function describe (n: NodeInfo): string {
  const ch = [...n.channels].map(c => c.toString(16).padStart(2, '0')).join(',')
  return `"${n.moniker}", version ${n.version || '?'}, network ${n.network}, protocol p2p ${n.protocolVersion.p2p} block ${n.protocolVersion.block} app ${n.protocolVersion.app}, channels ${ch}, listening on ${n.listenAddr}`
}
