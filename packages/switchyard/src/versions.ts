/**
 * What the protocol versions in NodeInfo say about a chain's nodes. CometBFT v0.34–v0.40 speak p2p
 * protocol 8 and v1.0 speaks 9, all with block protocol 11: a v0.38 node and a v1.0 node on one
 * chain peer happily, and then the v0.38 node panics on v1.0's consensus messages. Nodes with
 * different block protocols refuse each other.
 */

interface Versioned { id: string, nodeInfo?: { network: string, version: string, protocolVersion: { p2p: number, block: number, app: number } } }

/** The CometBFT lines a p2p protocol version belongs to. */
export function linesOfP2pProtocol (p2p: number): string {
  return p2p === 8 ? 'CometBFT v0.34–v0.40' : p2p === 9 ? 'CometBFT v1.0' : p2p === 7 ? 'Tendermint v0.33' : 'unknown line'
}

function tally (nodes: Versioned[], key: (n: Versioned) => string | number): Map<string | number, number> {
  const m = new Map<string | number, number>()
  for (const n of nodes) { const k = key(n); m.set(k, (m.get(k) ?? 0) + 1) }
  return m
}

/** One line per incompatible mix among the nodes that announced `chainId` (empty when none). */
export function compatibilityWarnings (chainId: string | undefined, nodes: Versioned[]): string[] {
  if (chainId === undefined) return []
  const onChain = nodes.filter(n => n.nodeInfo?.network === chainId)
  const warnings: string[] = []
  const p2p = tally(onChain, n => n.nodeInfo!.protocolVersion.p2p)
  if (p2p.size > 1) {
    const parts = [...p2p].sort((a, b) => Number(a[0]) - Number(b[0])).map(([v, n]) => `${n} on p2p protocol ${v} (${linesOfP2pProtocol(Number(v))})`)
    warnings.push(`incompatible mix on ${chainId}: ${parts.join(', ')}. They connect, but CometBFT v0.38 nodes crash on v1.0's consensus messages: run one line per chain.`)
  }
  const block = tally(onChain, n => n.nodeInfo!.protocolVersion.block)
  if (block.size > 1) {
    const parts = [...block].sort((a, b) => Number(a[0]) - Number(b[0])).map(([v, n]) => `${n} on block protocol ${v}`)
    warnings.push(`split chain ${chainId}: ${parts.join(', ')}. Nodes with different block protocols refuse each other.`)
  }
  return warnings
}
