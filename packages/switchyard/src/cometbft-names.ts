/**
 * CometBFT's p2p metric names and label values, per release line (docs/metrics.md). Kept apart from
 * metrics.ts so that config validation does not load prom-client.
 */
/** CometBFT release lines whose metric names we can follow (`[instrumentation] metrics_line`). */
export const METRICS_LINES = ['v0.34', 'v0.37', 'v0.38', 'v0.39', 'v0.40', 'v1.0'] as const
export type MetricsLine = typeof METRICS_LINES[number]
/** The newest CometBFT release (v0.40, 2026-07) uses v0.39's names. */
export const DEFAULT_METRICS_LINE: MetricsLine = 'v0.40'

export interface LineNaming {
  /** peer_receive_bytes_total / peer_send_bytes_total {peer_id, chID} (v1.0 dropped them). */
  perPeerBytes: boolean
  /** The per-peer queued-bytes gauge: renamed in v0.39 (#5648). */
  queueGauge: 'peer_pending_send_bytes' | 'peer_send_queue_size'
  /** Go package of the protobuf types, the first half of a message_type label. */
  goPackage: (pkg: string) => string
}

export function lineNaming (line: MetricsLine): LineNaming {
  switch (line) {
    case 'v0.34': case 'v0.37': case 'v0.38':
      return { perPeerBytes: true, queueGauge: 'peer_pending_send_bytes', goPackage: p => p }
    case 'v0.39': case 'v0.40':
      return { perPeerBytes: true, queueGauge: 'peer_send_queue_size', goPackage: p => p }
    case 'v1.0':
      // v1.0 moved the protos to api/cometbft/<module>/v1: Go package "v1" for every module.
      return { perPeerBytes: false, queueGauge: 'peer_pending_send_bytes', goPackage: () => 'v1' }
  }
}

/** A channel ID as CometBFT writes the chID label: Go's %#x ("0x0", "0x20"). */
export function chIdLabel (id: number): string {
  return id === 0 ? '0x0' : '0x' + id.toString(16)
}

/**
 * A message_type label as CometBFT builds it from the Go type name (*p2p.PexAddrs → "p2p_PexAddrs"):
 * "p2p.PexAddrs" → "p2p_PexAddrs" (v0.x) or "v1_PexAddrs" (v1.0). Types without a package pass as is.
 */
export function messageTypeLabel (type: string, line: MetricsLine): string {
  const dot = type.lastIndexOf('.')
  if (dot < 0) return type
  return `${lineNaming(line).goPackage(type.slice(0, dot))}_${type.slice(dot + 1)}`
}

