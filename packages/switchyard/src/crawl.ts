/**
 * `switchyard crawl`: walk a network through PEX from its seeds. Every (node ID, address) pair heard
 * is kept and each distinct pair is probed once (handshake, ping, one address request — never more
 * often than a peer allows), so a stale address cannot hide the one that works. Results are
 * reported per address and per node, with protocol versions and the mixes that break a chain.
 */
import PQueue from 'p-queue'
import { NodeKey, resolveNetAddress } from '@switchyard/p2p'
import { probe, type ProbeResult } from './probe.js'
import { compatibilityWarnings } from './versions.js'

export interface CrawlNodeInfo { moniker: string, version: string, network: string, listenAddr: string, channels: string, protocolVersion: { p2p: number, block: number, app: number } }

/** One (ID, address) pair and what probing it showed. */
export interface CrawlAddress {
  id: string
  /** id@ip:port as heard. */
  address: string
  reachable: boolean
  reason?: string
  message?: string
  nodeInfo?: CrawlNodeInfo
  /** IDs of the nodes that gave us this address ("seed" for a seed given on the command line). */
  heardFrom: string[]
  firstSeen: string
  probedAt?: string
  handshakeMs?: number
  pingMs?: number
}

/** A node ID with all its addresses: reachable when any of them is. */
export interface CrawlNode {
  id: string
  /** The address that worked (else the first heard). */
  address: string
  addresses: string[]
  reachable: boolean
  reason?: string
  message?: string
  nodeInfo?: CrawlNodeInfo
  heardFrom: string[]
  /** IDs this node gave us when asked. */
  knows: string[]
  firstSeen: string
  handshakeMs?: number
  pingMs?: number
}

/** Counts are per address probed; `nodes` / `reachableNodes` per node ID. */
export interface CrawlProgress { found: number, probed: number, reachable: number, failed: number, nodes: number, reachableNodes: number, byReason: Record<string, number> }

export interface CrawlResult {
  started: string
  finished: string
  seeds: string[]
  chainId: string | undefined
  nodes: CrawlNode[]
  addresses: CrawlAddress[]
  counts: CrawlProgress
  /** Incompatible mixes seen among the reachable nodes of the chain (empty when none). */
  warnings: string[]
}

export interface CrawlOptions {
  seeds: string[]
  chainId?: string
  /** Node IDs recorded at most (default 1000). */
  maxNodes?: number
  /** Addresses kept per node ID (default 8): a gossiper cannot flood one ID with addresses. */
  maxAddressesPerNode?: number
  concurrency?: number
  timeout?: number
  onProgress?: (p: CrawlProgress) => void
}

export async function crawl (o: CrawlOptions): Promise<CrawlResult> {
  const started = new Date().toISOString()
  const nodes = new Map<string, CrawlNode>()
  const pairs = new Map<string, CrawlAddress>()
  const maxNodes = o.maxNodes ?? 1000
  const perNode = o.maxAddressesPerNode ?? 8
  const queue = new PQueue({ concurrency: o.concurrency ?? 16 })
  const nodeKey = NodeKey.generate()
  let chainId = o.chainId
  const counts: CrawlProgress = { found: 0, probed: 0, reachable: 0, failed: 0, nodes: 0, reachableNodes: 0, byReason: {} }
  const report = (): void => o.onProgress?.({ ...counts, byReason: { ...counts.byReason } })
  const probeOpts = (): Parameters<typeof probe>[1] => ({ nodeKey, ...(chainId !== undefined ? { chainId } : {}), ...(o.timeout !== undefined ? { timeout: o.timeout } : {}) })

  const record = (p: CrawlAddress, r: ProbeResult): void => {
    p.probedAt = new Date().toISOString()
    p.reachable = r.ok
    p.message = r.message
    if (!r.ok) p.reason = r.reason
    if (r.nodeInfo !== undefined) {
      const i = r.nodeInfo
      p.nodeInfo = { moniker: i.moniker, version: i.version, network: i.network, listenAddr: i.listenAddr, channels: Buffer.from(i.channels).toString('hex'), protocolVersion: i.protocolVersion }
    }
    if (r.handshakeMs !== undefined) p.handshakeMs = Math.round(r.handshakeMs * 10) / 10
    if (r.pingMs !== undefined) p.pingMs = Math.round(r.pingMs * 10) / 10
    counts.probed++
    if (r.ok) counts.reachable++
    else { counts.failed++; counts.byReason[r.reason ?? 'unknown'] = (counts.byReason[r.reason ?? 'unknown'] ?? 0) + 1 }
    const node = nodes.get(p.id)!
    if (r.ok && !node.reachable) { node.reachable = true; counts.reachableNodes++ }
  }

  const visit = async (p: CrawlAddress): Promise<void> => {
    const r = await probe(p.address, { ...probeOpts(), pex: true })
    record(p, r)
    const node = nodes.get(p.id)!
    for (const a of r.addrs ?? []) {
      const address = `${a.id}@${a.ip.includes(':') ? `[${a.ip}]` : a.ip}:${a.port}`
      if (!node.knows.includes(a.id) && node.knows.length < 1000) node.knows.push(a.id)
      found(address, a.id, p.id)
    }
    report()
  }

  const found = (address: string, id: string, from: string): void => {
    const known = pairs.get(address)
    if (known !== undefined) {
      if (!known.heardFrom.includes(from) && known.heardFrom.length < 1000) known.heardFrom.push(from)
      return
    }
    let node = nodes.get(id)
    if (node === undefined) {
      if (nodes.size >= maxNodes) return
      node = { id, address, addresses: [], reachable: false, heardFrom: [], knows: [], firstSeen: new Date().toISOString() }
      nodes.set(id, node)
      counts.nodes++
    }
    if (node.addresses.length >= perNode) return
    node.addresses.push(address)
    const p: CrawlAddress = { id, address, reachable: false, heardFrom: [from], firstSeen: new Date().toISOString() }
    pairs.set(address, p)
    counts.found++
    void queue.add(async () => { await visit(p) })
  }

  const seeds: Array<{ s: string, id: string, address: string }> = []
  for (const s of o.seeds) {
    try {
      const a = await resolveNetAddress(s)
      seeds.push({ s, id: a.id, address: a.toString() })
    } catch (err) {
      counts.failed++
      counts.byReason['bad-address'] = (counts.byReason['bad-address'] ?? 0) + 1
      const p: CrawlAddress = { id: s, address: s, reachable: false, reason: 'bad-address', message: (err as Error).message, heardFrom: ['seed'], firstSeen: new Date().toISOString() }
      pairs.set(s, p)
      counts.nodes++
      nodes.set(s, { id: s, address: s, addresses: [s], reachable: false, reason: p.reason, message: p.message, heardFrom: ['seed'], knows: [], firstSeen: p.firstSeen })
    }
  }
  // Without a chain ID, learn it from the first seed that answers. The probe presents the
  // network the node announced, so no node logs us as a peer from the wrong chain.
  if (chainId === undefined) {
    for (const { s } of seeds) {
      const r = await probe(s, probeOpts())
      if (r.nodeInfo !== undefined) { chainId = r.nodeInfo.network; break }
    }
  }
  for (const { id, address } of seeds) found(address, id, 'seed')
  await queue.onIdle()

  // Per node: the working address (and its NodeInfo), else the first heard with why it failed.
  for (const node of nodes.values()) {
    const mine = node.addresses.map(a => pairs.get(a)!)
    const best = mine.find(p => p.reachable) ?? mine.find(p => p.nodeInfo !== undefined) ?? mine[0]
    if (best === undefined) continue
    node.address = best.address
    node.heardFrom = [...new Set(mine.flatMap(p => p.heardFrom))]
    if (best.nodeInfo !== undefined) node.nodeInfo = best.nodeInfo
    if (best.handshakeMs !== undefined) node.handshakeMs = best.handshakeMs
    if (best.pingMs !== undefined) node.pingMs = best.pingMs
    if (!node.reachable) {
      if (best.reason !== undefined) node.reason = best.reason
      if (best.message !== undefined) node.message = best.message
    }
  }
  report()
  const nodeList = [...nodes.values()]
  return {
    started,
    finished: new Date().toISOString(),
    seeds: o.seeds,
    chainId,
    nodes: nodeList,
    addresses: [...pairs.values()],
    counts,
    warnings: compatibilityWarnings(chainId, nodeList)
  }
}
