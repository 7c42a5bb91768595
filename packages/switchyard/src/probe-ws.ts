/**
 * The WebSocket leg of `switchyard probe ws://id@host:port`: the upgrade request (with our
 * PeerID header) replaces the TCP connect; what follows is the same handshake as over TCP.
 */
import type { Duplex } from 'node:stream'
import { NetAddress, parseStreamAddress, type NodeKey } from '@switchyard/p2p'
import { resolveLimits, wsDialer } from '@switchyard/transport-ws'
import type { SwitchyardError } from '@switchyard/wire'

export interface ProbeFailure { exitCode: number, reason: string, message: string }
export interface OpenedWebSocket { stream: Duplex, addr: NetAddress, where: string }

export function isWebSocketTarget (target: string): boolean {
  return /^wss?:\/\//i.test(target.trim())
}

/** Opens the WebSocket, or says why not with the probe's exit codes (10 refused, 11 timeout, 12 unreachable, 2 usage). */
export async function openProbeWebSocket (target: string, nodeKey: NodeKey, timeout: number, localAddress: string | undefined, exit: { usage: number, refused: number, tcpTimeout: number, unreachable: number }): Promise<OpenedWebSocket | ProbeFailure> {
  let parsed
  try {
    parsed = parseStreamAddress(target)
  } catch (err) {
    return { exitCode: exit.usage, reason: 'bad-address', message: (err as Error).message }
  }
  const where = `${parsed.scheme}://${parsed.host.includes(':') ? `[${parsed.host}]` : parsed.host}:${parsed.port}`
  try {
    const dialed = await wsDialer({ peerId: nodeKey.id, limits: resolveLimits({}) })(parsed, { timeout, ...(localAddress !== undefined ? { localAddress } : {}) })
    return { stream: dialed.stream, addr: new NetAddress(parsed.id, parsed.host, parsed.port), where }
  } catch (err) {
    const e = err as SwitchyardError & { status?: number, cause?: NodeJS.ErrnoException }
    if (e.code === 'ERR_WS_UPGRADE_REFUSED') {
      const why = e.status === 403 ? ' (our PeerID is not on its allow-list)' : e.status === 429 || e.status === 503 ? ' (busy: too many upgrades in progress, or not started)' : ''
      return { exitCode: exit.refused, reason: 'upgrade-refused', message: `${where} answered the WebSocket upgrade with HTTP ${e.status ?? '?'}${why}` }
    }
    if (e.code === 'ERR_DIAL_TIMEOUT') return { exitCode: exit.tcpTimeout, reason: 'tcp-timeout', message: `timed out after ${timeout} ms opening a WebSocket to ${where}` }
    if (e.cause?.code === 'ECONNREFUSED') return { exitCode: exit.refused, reason: 'refused', message: `connection refused by ${where}: nothing listens on that port (or a firewall rejects it)` }
    return { exitCode: exit.unreachable, reason: 'unreachable', message: `cannot open a WebSocket to ${where}: ${e.cause?.code ?? e.cause?.message ?? e.message}` }
  }
}
