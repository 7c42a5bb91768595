/**
 * The seed's HTTP endpoint: /metrics in Prometheus text format (CometBFT's p2p metric names where
 * they exist, ours under switchyard_*), /health (200 when serving, 503 while starting or stopping)
 * and /net_info (peers and book stats as JSON).
 */
import http from 'node:http'
import type { Switch } from '@switchyard/p2p'
import type { AddrBook, PexReactor } from '@switchyard/pex'
import type { LanDiscovery } from '@switchyard/discovery-lan'

export interface SeedCounters {
  /** Handshakes by result: "ok" or the error code that ended them. */
  handshakes: Map<string, number>
  /** Connections refused, by reason (error code). */
  rejections: Map<string, number>
}

export interface MetricsSource {
  namespace: string
  sw: Switch
  book: AddrBook
  pex: PexReactor
  counters: SeedCounters
  state: () => 'starting' | 'running' | 'stopping'
  started: number
  /** LAN discovery, when on (it starts after the metrics endpoint). */
  lan?: () => LanDiscovery | undefined
}

const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')

class Exposition {
  private readonly lines: string[] = []
  family (name: string, type: 'gauge' | 'counter', help: string, samples: Array<[Record<string, string>, number]>): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    for (const [labels, value] of samples) {
      const l = Object.entries(labels).map(([k, v]) => `${k}="${esc(v)}"`).join(',')
      this.lines.push(`${name}${l !== '' ? `{${l}}` : ''} ${value}`)
    }
  }

  toString (): string { return this.lines.join('\n') + '\n' }
}

export function renderMetrics (s: MetricsSource): string {
  const x = new Exposition()
  const ns = s.namespace
  const peers = [...s.sw.peers.values()]
  const statuses = peers.map(p => ({ id: p.id, st: p.mconn.status() }))
  x.family(`${ns}_p2p_peers`, 'gauge', 'Number of peers.', [[{}, peers.length]])
  x.family(`${ns}_p2p_peer_receive_bytes_total`, 'counter', 'Bytes received from a peer, per channel.',
    statuses.flatMap(({ id, st }) => st.channels.map(c => [{ peer_id: id, chID: `0x${c.id.toString(16).padStart(2, '0')}` }, c.bytesReceived] as [Record<string, string>, number])))
  x.family(`${ns}_p2p_peer_send_bytes_total`, 'counter', 'Bytes sent to a peer, per channel.',
    statuses.flatMap(({ id, st }) => st.channels.map(c => [{ peer_id: id, chID: `0x${c.id.toString(16).padStart(2, '0')}` }, c.bytesSent] as [Record<string, string>, number])))
  x.family(`${ns}_p2p_peer_pending_send_bytes`, 'gauge', 'Bytes queued for a peer and not yet sent.',
    statuses.map(({ id, st }) => [{ peer_id: id }, st.channels.reduce((a, c) => a + c.pendingBytes, 0)]))
  const { outbound, inbound, dialing } = s.sw.numPeers()
  x.family('switchyard_p2p_peers_by_direction', 'gauge', 'Peers by direction, and dials in progress.',
    [[{ direction: 'outbound' }, outbound], [{ direction: 'inbound' }, inbound], [{ direction: 'dialing' }, dialing]])
  x.family('switchyard_p2p_pending_handshakes', 'gauge', 'Inbound handshakes in progress.', [[{}, s.sw.transport.pendingHandshakes]])
  x.family('switchyard_p2p_handshakes_total', 'counter', 'Peer handshakes by result (ok or the error code).',
    [...s.counters.handshakes].map(([result, n]) => [{ result }, n]))
  x.family('switchyard_p2p_rejections_total', 'counter', 'Connections refused, by reason.',
    [...s.counters.rejections].map(([reason, n]) => [{ reason }, n]))
  x.family('switchyard_addrbook_size', 'gauge', 'Addresses in the book by bucket type (banned: held out until the ban ends).',
    [[{ bucket_type: 'new' }, s.book.sizeNew], [{ bucket_type: 'old' }, s.book.sizeOld], [{ bucket_type: 'banned' }, s.book.sizeBanned]])
  x.family('switchyard_addrbook_refusals_total', 'counter', 'Addresses the book refused, by reason.',
    [...s.book.refusals].map(([reason, n]) => [{ reason }, n]))
  const st = s.pex.stats
  x.family('switchyard_pex_requests_served_total', 'counter', 'PEX requests answered.', [[{}, st.requestsServed]])
  x.family('switchyard_pex_requests_sent_total', 'counter', 'PEX requests sent.', [[{}, st.requestsSent]])
  x.family('switchyard_pex_addresses_received_total', 'counter', 'Addresses received in PEX answers.', [[{}, st.addrsReceived]])
  x.family('switchyard_pex_violations_total', 'counter', 'Peers punished, by violation.',
    [[{ violation: 'too_soon' }, st.tooSoon], [{ violation: 'unsolicited' }, st.unsolicited], [{ violation: 'invalid_address' }, st.invalid]])
  x.family('switchyard_pex_dials_total', 'counter', 'Dials made by PEX, and how many failed.', [[{ result: 'attempted' }, st.dials], [{ result: 'failed' }, st.dialFailures]])
  const v = s.pex.verificationStats()
  x.family('switchyard_seed_addresses', 'gauge', 'Book addresses: known, verified (ever reached by our handshake), fresh (reached within the window: what is served).',
    [[{ state: 'known' }, v.known], [{ state: 'verified' }, v.verified], [{ state: 'fresh' }, v.fresh]])
  x.family('switchyard_pex_addresses_served_total', 'counter', 'Addresses handed out in PEX answers.', [[{}, v.served]])
  x.family('switchyard_seed_verification_queue', 'gauge', 'Addresses waiting for or in a verification dial.', [[{}, v.queued]])
  const lan = s.lan?.()
  if (lan !== undefined) {
    const l = lan.stats
    x.family('switchyard_lan_datagrams_sent_total', 'counter', 'LAN announcements the kernel accepted for sending.', [[{}, l.sent]])
    x.family('switchyard_lan_send_failures_total', 'counter', 'LAN announcements that could not be sent, by error code.', [...l.sendFailures].map(([code, n]) => [{ code }, n]))
    x.family('switchyard_lan_datagrams_received_total', 'counter', 'Datagrams received on the LAN discovery port.', [[{}, l.received]])
    x.family('switchyard_lan_datagrams_rejected_total', 'counter', 'LAN datagrams rejected, by reason.', [...l.rejected].map(([reason, n]) => [{ reason }, n]))
    x.family('switchyard_lan_signatures_checked_total', 'counter', 'LAN announcement signatures checked (bounded by the check budget).', [[{}, l.verified]])
    x.family('switchyard_lan_peers_found_total', 'counter', 'Distinct nodes discovered on the LAN.', [[{}, l.peersFound]])
  }
  x.family('switchyard_uptime_seconds', 'gauge', 'Seconds since the seed started.', [[{}, Math.round((Date.now() - s.started) / 1000)]])
  return x.toString()
}

/** Error codes in the vocabulary of `switchyard probe` / `crawl`, so the two can be compared. */
const REASON_OF_CODE: Record<string, string> = {
  ERR_DIAL_FAILED: 'refused-or-unreachable',
  ERR_DIAL_TIMEOUT: 'tcp-timeout',
  ERR_HANDSHAKE_TIMEOUT: 'handshake-timeout',
  ERR_CONNECTION_CLOSED: 'closed-during-handshake',
  ERR_PEER_ID_MISMATCH: 'id-mismatch',
  ERR_WRONG_NETWORK: 'wrong-network',
  ERR_WRONG_BLOCK_VERSION: 'incompatible',
  ERR_NO_COMMON_CHANNEL: 'no-common-channel',
  ERR_INVALID_NODE_INFO: 'invalid-node-info',
  ERR_SELF_CONNECTION: 'self',
  ERR_DUPLICATE_PEER: 'duplicate-peer',
  ERR_DUPLICATE_IP: 'duplicate-ip',
  ERR_TOO_MANY_PEERS: 'too-many-peers',
  ERR_FILTERED: 'filtered'
}

export function refusalsByReason (rejections: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [code, n] of rejections) {
    const r = REASON_OF_CODE[code] ?? 'handshake-failed'
    out[r] = (out[r] ?? 0) + n
  }
  return out
}

export function netInfo (s: MetricsSource): unknown {
  return {
    node_id: s.sw.nodeKey.id,
    listen_addr: s.sw.address,
    network: s.sw.nodeInfo.network,
    state: s.state(),
    n_peers: s.sw.peers.size,
    peers: [...s.sw.peers.values()].map(p => ({
      id: p.id, moniker: p.moniker, remote: p.socketAddress.dialString, outbound: p.outbound,
      version: p.nodeInfo.version, listen_addr: p.nodeInfo.listenAddr, duration_ms: Math.round(p.mconn.status().durationMs)
    })),
    address_book: { new: s.book.sizeNew, old: s.book.sizeOld, banned: s.book.sizeBanned, refusals: Object.fromEntries(s.book.refusals) },
    handshakes: Object.fromEntries(s.counters.handshakes),
    rejections: Object.fromEntries(s.counters.rejections),
    refusals_by_reason: refusalsByReason(s.counters.rejections),
    pex: s.pex.stats,
    verification: s.pex.verificationSummary()
  }
}

/** Starts the endpoint; resolves once listening (rejects with the listen error, e.g. EADDRINUSE). */
export async function serveMetrics (host: string, port: number, s: MetricsSource): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
      res.end(renderMetrics(s))
    } else if (path === '/health') {
      const state = s.state()
      res.writeHead(state === 'running' ? 200 : 503, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ status: state }) + '\n')
    } else if (path === '/net_info') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(netInfo(s), null, 2) + '\n')
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' })
      res.end('not found: try /metrics, /health or /net_info\n')
    }
  })
  server.maxConnections = 16
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  return server
}
