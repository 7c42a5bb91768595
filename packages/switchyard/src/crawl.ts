/**
 * `switchyard crawl`: walk a network through PEX from its seeds. Each address found is probed once
 * (handshake, ping, one address request — never more often than a peer allows), and every node is
 * recorded with who told us about it and, when unreachable, exactly why.
 */
import PQueue from 'p-queue'
import { NodeKey, resolveNetAddress } from '@switchyard/p2p'
import { probe, type ProbeResult } from './probe.js'

export interface CrawlNode {
  id: string
  address: string
  reachable: boolean
  reason?: string
  message?: string
  nodeInfo?: { moniker: string, version: string, network: string, listenAddr: string, channels: string, protocolVersion: { p2p: number, block: number, app: number } }
  /** IDs of the nodes that gave us this address ("seed" for a seed given on the command line). */
  heardFrom: string[]
  /** IDs this node gave us when asked. */
  knows: string[]
  firstSeen: string
  probedAt?: string
  handshakeMs?: number
  pingMs?: number
}

export interface CrawlProgress { found: number, probed: number, reachable: number, failed: number, byReason: Record<string, number> }

export interface CrawlResult {
  started: string
  finished: string
  seeds: string[]
  chainId: string | undefined
  nodes: CrawlNode[]
  counts: CrawlProgress
}

export interface CrawlOptions {
  seeds: string[]
  chainId?: string
  maxNodes?: number
  concurrency?: number
  timeout?: number
  onProgress?: (p: CrawlProgress) => void
}

export async function crawl (o: CrawlOptions): Promise<CrawlResult> {
  const started = new Date().toISOString()
  const nodes = new Map<string, CrawlNode>()
  const maxNodes = o.maxNodes ?? 1000
  const queue = new PQueue({ concurrency: o.concurrency ?? 16 })
  const nodeKey = NodeKey.generate()
  let chainId = o.chainId
  const counts: CrawlProgress = { found: 0, probed: 0, reachable: 0, failed: 0, byReason: {} }
  const report = (): void => o.onProgress?.({ ...counts, byReason: { ...counts.byReason } })

  const record = (n: CrawlNode, r: ProbeResult): void => {
    n.probedAt = new Date().toISOString()
    n.reachable = r.ok
    n.message = r.message
    if (!r.ok) n.reason = r.reason
    if (r.nodeInfo !== undefined) {
      const i = r.nodeInfo
      n.nodeInfo = { moniker: i.moniker, version: i.version, network: i.network, listenAddr: i.listenAddr, channels: Buffer.from(i.channels).toString('hex'), protocolVersion: i.protocolVersion }
    }
    if (r.handshakeMs !== undefined) n.handshakeMs = Math.round(r.handshakeMs * 10) / 10
    if (r.pingMs !== undefined) n.pingMs = Math.round(r.pingMs * 10) / 10
    counts.probed++
    if (r.ok) counts.reachable++
    else { counts.failed++; counts.byReason[r.reason ?? 'unknown'] = (counts.byReason[r.reason ?? 'unknown'] ?? 0) + 1 }
  }

  const visit = async (n: CrawlNode): Promise<void> => {
    const r = await probe(n.address, { pex: true, ...(chainId !== undefined ? { chainId } : {}), ...(o.timeout !== undefined ? { timeout: o.timeout } : {}), nodeKey })
    record(n, r)
    for (const a of r.addrs ?? []) {
      const address = `${a.id}@${a.ip.includes(':') ? `[${a.ip}]` : a.ip}:${a.port}`
      if (!n.knows.includes(a.id)) n.knows.push(a.id)
      found(address, a.id, n.id)
    }
    report()
  }

  const found = (address: string, id: string, from: string): void => {
    const known = nodes.get(id)
    if (known !== undefined) {
      if (!known.heardFrom.includes(from)) known.heardFrom.push(from)
      return
    }
    if (nodes.size >= maxNodes) return
    const n: CrawlNode = { id, address, reachable: false, heardFrom: [from], knows: [], firstSeen: new Date().toISOString() }
    nodes.set(id, n)
    counts.found++
    void queue.add(async () => { await visit(n) })
  }

  // Without a chain id, learn it from the first seed that answers.
  if (chainId === undefined) {
    for (const s of o.seeds) {
      const r = await probe(s, { nodeKey, ...(o.timeout !== undefined ? { timeout: o.timeout } : {}) })
      if (r.nodeInfo !== undefined) { chainId = r.nodeInfo.network; break }
    }
  }
  for (const s of o.seeds) {
    try {
      const a = await resolveNetAddress(s)
      found(s, a.id, 'seed')
    } catch (err) {
      counts.failed++
      counts.byReason['bad-address'] = (counts.byReason['bad-address'] ?? 0) + 1
      const n: CrawlNode = { id: s, address: s, reachable: false, reason: 'bad-address', message: (err as Error).message, heardFrom: ['seed'], knows: [], firstSeen: new Date().toISOString() }
      nodes.set(s, n)
    }
  }
  await queue.onIdle()
  report()
  return { started, finished: new Date().toISOString(), seeds: o.seeds, chainId, nodes: [...nodes.values()], counts }
}
