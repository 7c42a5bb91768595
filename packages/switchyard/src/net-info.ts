/** /net_info: the seed's peers, book and refusal counts as JSON (in probe/crawl vocabulary). */
import type { MetricsSource } from './metrics.js'

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
  ERR_FILTERED: 'filtered',
  handshake_slots_full: 'handshake-slots-full',
  handshake_slots_per_ip: 'handshake-slots-per-ip'
}

export function refusalsByReason (rejections: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [code, n] of rejections) {
    const r = REASON_OF_CODE[code] ?? 'handshake-failed'
    out[r] = (out[r] ?? 0) + n
  }
  return out
}

export function netInfo (s: MetricsSource & { state: () => string }): unknown {
  return {
    node_id: s.sw.nodeKey.id,
    listen_addr: s.sw.address,
    network: s.sw.nodeInfo.network,
    state: s.state(),
    n_peers: s.sw.peers.size,
    peers: [...s.sw.peers.values()].map(p => ({
      id: p.id, moniker: p.moniker, remote: p.socketAddress.dialString, outbound: p.outbound,
      version: p.nodeInfo.version, listen_addr: p.nodeInfo.listenAddr, duration_ms: Math.round(p.status().connection.durationMs)
    })),
    address_book: { new: s.book.sizeNew, old: s.book.sizeOld, banned: s.book.sizeBanned, refusals: Object.fromEntries(s.book.refusals) },
    handshakes: Object.fromEntries(s.counters.handshakes),
    rejections: Object.fromEntries(s.counters.rejections),
    refusals_by_reason: refusalsByReason(s.counters.rejections),
    pex: s.pex.stats,
    verification: s.pex.verificationSummary()
  }
}
