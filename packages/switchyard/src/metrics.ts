/**
 * The seed's Prometheus metrics, on prom-client: CometBFT's p2p names and label values exactly as
 * the CometBFT line the operator runs writes them (docs/metrics.md has the table), Switchyard's own
 * under switchyard_*, process metrics (memory, CPU, event-loop lag) and a handshake-duration
 * histogram. Other components' counters are registered with addCounter/addGauge: the value is read
 * from the object that owns it at each scrape, so nothing is counted twice.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { MConnectionStatus } from '@switchyard/conn'
import type { Switch } from '@switchyard/p2p'
import type { AddrBook, PexReactor } from '@switchyard/pex'
import type { LanDiscovery } from '@switchyard/discovery-lan'
import { DEFAULT_METRICS_LINE, chIdLabel, lineNaming, messageTypeLabel, type MetricsLine } from './cometbft-names.js'

export { METRICS_LINES, DEFAULT_METRICS_LINE, lineNaming, chIdLabel, messageTypeLabel, type MetricsLine, type LineNaming } from './cometbft-names.js'

export type Samples = Iterable<readonly [Record<string, string>, number]>
type Read = () => number | Samples

function samplesOf (r: number | Samples): Samples {
  return typeof r === 'number' ? [[{}, r]] : r
}

/** Counters kept by the seed's event handlers (by result / reason code: bounded sets). */
export interface SeedCounters {
  /** Handshakes by result: "ok" or the error code that ended them. */
  handshakes: Map<string, number>
  /** Connections refused, by reason (error code). */
  rejections: Map<string, number>
}

export interface MetricsSource {
  namespace: string
  line?: MetricsLine
  sw: Switch
  book: AddrBook
  pex: PexReactor
  counters: SeedCounters
  started: number
}

export class SeedMetrics {
  readonly registry = new Registry()
  readonly line: MetricsLine
  /** Handshake durations from TCP connect/accept to NodeInfo accepted (or the failure). */
  readonly handshakeDuration: Histogram<'direction' | 'result'>

  constructor (s: MetricsSource, options: { processMetrics?: boolean } = {}) {
    this.line = s.line ?? DEFAULT_METRICS_LINE
    const naming = lineNaming(this.line)
    const ns = s.namespace
    const statuses = (): Array<{ id: string, st: MConnectionStatus }> => [...s.sw.peers.values()].map(p => ({ id: p.id, st: p.status().connection }))

    // CometBFT's names (namespace "cometbft" unless the operator set another).
    this.addGauge(`${ns}_p2p_peers`, 'Number of peers.', () => s.sw.peers.size)
    if (naming.perPeerBytes) {
      this.addCounter(`${ns}_p2p_peer_receive_bytes_total`, 'Number of bytes received from a given peer.', () =>
        statuses().flatMap(({ id, st }) => st.channels.map(c => [{ peer_id: id, chID: chIdLabel(c.id) }, c.bytesReceived] as const)), ['peer_id', 'chID'])
      this.addCounter(`${ns}_p2p_peer_send_bytes_total`, 'Number of bytes sent to a given peer.', () =>
        statuses().flatMap(({ id, st }) => st.channels.map(c => [{ peer_id: id, chID: chIdLabel(c.id) }, c.bytesSent] as const)), ['peer_id', 'chID'])
    }
    this.addGauge(`${ns}_p2p_${naming.queueGauge}`, 'Pending bytes to be sent to a given peer.', () =>
      statuses().map(({ id, st }) => [{ peer_id: id }, st.channels.reduce((a, c) => a + c.pendingBytes, 0)] as const), ['peer_id'])
    const byType = (m: Map<string, number>): Samples => [...m].map(([t, n]) => [{ message_type: messageTypeLabel(t, this.line) }, n] as const)
    this.addCounter(`${ns}_p2p_message_receive_bytes_total`, 'Number of bytes of each message type received.', () => byType(s.sw.messageBytes.received), ['message_type'])
    this.addCounter(`${ns}_p2p_message_send_bytes_total`, 'Number of bytes of each message type sent.', () => byType(s.sw.messageBytes.sent), ['message_type'])

    // Switchyard's own.
    this.addGauge('switchyard_p2p_peers_by_direction', 'Peers by direction, and dials in progress.', () => {
      const { outbound, inbound, dialing } = s.sw.numPeers()
      return [[{ direction: 'outbound' }, outbound], [{ direction: 'inbound' }, inbound], [{ direction: 'dialing' }, dialing]]
    }, ['direction'])
    this.addGauge('switchyard_p2p_pending_handshakes', 'Inbound handshakes in progress.', () => s.sw.transport.pendingHandshakes)
    this.addCounter('switchyard_p2p_handshake_refusals_total', 'Inbound connections closed before their handshake: every slot taken (full) or the IP\'s share taken (per_ip).', () =>
      [[{ reason: 'full' }, s.sw.transport.refusals.full], [{ reason: 'per_ip' }, s.sw.transport.refusals['per-ip']]], ['reason'])
    this.addCounter('switchyard_p2p_handshakes_total', 'Peer handshakes by result (ok or the error code).', () => [...s.counters.handshakes].map(([result, n]) => [{ result }, n] as const), ['result'])
    this.addCounter('switchyard_p2p_rejections_total', 'Connections refused, by reason.', () => [...s.counters.rejections].map(([reason, n]) => [{ reason }, n] as const), ['reason'])
    this.handshakeDuration = new Histogram({
      name: 'switchyard_p2p_handshake_duration_seconds',
      help: 'Handshake time (SecretConnection and NodeInfo exchange), by direction and result.',
      labelNames: ['direction', 'result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20],
      registers: [this.registry]
    })
    s.sw.transport.on('handshake', h => { this.handshakeDuration.observe({ direction: h.outbound ? 'outbound' : 'inbound', result: h.result }, h.seconds) })
    this.addGauge('switchyard_addrbook_size', 'Addresses in the book by bucket type (banned: held out until the ban ends).', () =>
      [[{ bucket_type: 'new' }, s.book.sizeNew], [{ bucket_type: 'old' }, s.book.sizeOld], [{ bucket_type: 'banned' }, s.book.sizeBanned]], ['bucket_type'])
    this.addCounter('switchyard_addrbook_refusals_total', 'Addresses the book refused, by reason.', () => [...s.book.refusals].map(([reason, n]) => [{ reason }, n] as const), ['reason'])
    const st = s.pex.stats
    this.addCounter('switchyard_pex_requests_served_total', 'PEX requests answered.', () => st.requestsServed)
    this.addCounter('switchyard_pex_requests_sent_total', 'PEX requests sent.', () => st.requestsSent)
    this.addCounter('switchyard_pex_addresses_received_total', 'Addresses received in PEX answers.', () => st.addrsReceived)
    this.addCounter('switchyard_pex_violations_total', 'Peers punished, by violation.', () =>
      [[{ violation: 'too_soon' }, st.tooSoon], [{ violation: 'unsolicited' }, st.unsolicited], [{ violation: 'invalid_address' }, st.invalid], [{ violation: 'no_request' }, st.silentDropped]], ['violation'])
    this.addCounter('switchyard_pex_dials_total', 'Dials made by PEX, and how many failed.', () =>
      [[{ result: 'attempted' }, st.dials], [{ result: 'failed' }, st.dialFailures]], ['result'])
    // The seed's address verification (docs/seed-node.md): read from the reactor at each scrape.
    this.addGauge('switchyard_seed_addresses', 'Book addresses: known, verified (ever reached by our handshake), fresh (reached within the window: what is served).', () => {
      const v = s.pex.verificationStats()
      return [[{ state: 'known' }, v.known], [{ state: 'verified' }, v.verified], [{ state: 'fresh' }, v.fresh]]
    }, ['state'])
    this.addCounter('switchyard_pex_addresses_served_total', 'Addresses handed out in PEX answers.', () => st.addrsServed)
    this.addGauge('switchyard_seed_verification_queue', 'Addresses waiting for or in a verification dial.', () => s.pex.verifier?.size ?? 0)
    this.addGauge('switchyard_uptime_seconds', 'Seconds since the seed started.', () => Math.round((Date.now() - s.started) / 1000))
    // process_cpu_seconds_total, process_resident_memory_bytes, nodejs_eventloop_lag_seconds, …
    if (options.processMetrics !== false) {
      collectDefaultMetrics({ register: this.registry })
      // Gauges that prom-client names *_total, which promtool's lint rejects; handle counts are
      // not what an operator watches anyway.
      for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name)
    }
  }

  /** A counter whose value(s) are read from their owner at each scrape (must never decrease). */
  addCounter (name: string, help: string, read: Read, labelNames: string[] = []): void {
    // eslint-disable-next-line no-new
    new Counter({
      name, help, labelNames, registers: [this.registry],
      collect () { this.reset(); for (const [labels, v] of samplesOf(read())) this.inc(labels, v) }
    })
  }

  /** A gauge whose value(s) are read from their owner at each scrape. */
  addGauge (name: string, help: string, read: Read, labelNames: string[] = []): void {
    // eslint-disable-next-line no-new
    new Gauge({
      name, help, labelNames, registers: [this.registry],
      collect () { this.reset(); for (const [labels, v] of samplesOf(read())) this.set(labels, v) }
    })
  }

  /** LAN discovery's counters (it starts after the endpoint, so they are added when it does). */
  addLanDiscovery (lan: LanDiscovery): void {
    const l = lan.stats
    this.addCounter('switchyard_lan_datagrams_sent_total', 'LAN announcements the kernel accepted for sending.', () => l.sent)
    this.addCounter('switchyard_lan_send_failures_total', 'LAN announcements that could not be sent, by error code.', () => [...l.sendFailures].map(([code, n]) => [{ code }, n] as const), ['code'])
    this.addCounter('switchyard_lan_datagrams_received_total', 'Datagrams received on the LAN discovery port.', () => l.received)
    this.addCounter('switchyard_lan_datagrams_rejected_total', 'LAN datagrams rejected, by reason.', () => [...l.rejected].map(([reason, n]) => [{ reason }, n] as const), ['reason'])
    this.addCounter('switchyard_lan_signatures_checked_total', 'LAN announcement signatures checked (bounded by the check budget).', () => l.verified)
    this.addCounter('switchyard_lan_peers_found_total', 'Distinct nodes discovered on the LAN.', () => l.peersFound)
  }

  /** The Prometheus text exposition. */
  async render (): Promise<string> {
    return await this.registry.metrics()
  }

  get contentType (): string {
    return this.registry.contentType
  }
}
