/**
 * PEX convergence across processes: a seed in one child process, N nodes (Switch + PEX, knowing
 * only the seed) in child processes of 100 each. Measures seconds until every node has its
 * outbound target, the book sizes reached, and the graph (connected? diameter, the seed's share
 * of shortest paths). Run for two address layouts in the same run: nodes spread over many /16
 * groups (as on the internet) and the old test-network layout with every node in one /16.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { median } from './measures.js'

const CHILD = fileURLToPath(new URL('./pex-scale-child.js', import.meta.url))
const PER_CHILD = 100

interface NodeReport { id: string, outbound: number, book: number, peers: string[] }
export interface PexScaleFigures {
  layout: 'spread' | 'one16'
  nodes: number
  target: number
  seconds: number
  converged: number
  bookMin: number
  bookMedian: number
  bookMax: number
  connected: boolean
  diameter: number
  seedDegree: number
}

async function ask<T> (c: ChildProcess, msg: string, key: string): Promise<T> {
  return await new Promise<T>((resolve, reject) => {
    const exited = (code: number | null): void => { c.off('message', on); reject(new Error(`child exited (${code})`)) }
    const on = (m: Record<string, unknown>): void => { if (key in m) { c.off('message', on); c.off('exit', exited); resolve(m[key] as T) } }
    c.on('message', on)
    c.once('exit', exited)
    if (msg !== '') c.send(msg)
  })
}

/** Eccentricity-based diameter and connectivity of the undirected peer graph. */
function graph (reports: NodeReport[], seedId: string, seedPeers: string[]): { connected: boolean, diameter: number } {
  const adj = new Map<string, Set<string>>()
  const link = (a: string, b: string): void => {
    if (!adj.has(a)) adj.set(a, new Set())
    if (!adj.has(b)) adj.set(b, new Set())
    adj.get(a)!.add(b); adj.get(b)!.add(a)
  }
  for (const r of reports) { adj.set(r.id, adj.get(r.id) ?? new Set()); for (const p of r.peers) link(r.id, p) }
  for (const p of seedPeers) link(seedId, p)
  let diameter = 0
  let connected = true
  for (const start of adj.keys()) {
    const dist = new Map([[start, 0]])
    const queue = [start]
    for (let i = 0; i < queue.length; i++) {
      for (const n of adj.get(queue[i]!)!) if (!dist.has(n)) { dist.set(n, dist.get(queue[i]!)! + 1); queue.push(n) }
    }
    if (dist.size < adj.size) connected = false
    diameter = Math.max(diameter, ...dist.values())
  }
  return { connected, diameter }
}

export async function pexScaleBench (nodes = 400, target = 10, layout: 'spread' | 'one16' = 'spread', timeoutMs = 300_000): Promise<PexScaleFigures> {
  const seed = fork(CHILD, ['seed', '', '0', '1', layout, String(target)])
  const seedAddress = await ask<string>(seed, '', 'started')
  const t0 = performance.now()
  const kids = Array.from({ length: Math.ceil(nodes / PER_CHILD) }, (_, k) =>
    fork(CHILD, ['nodes', seedAddress, String(k * PER_CHILD), String(Math.min(PER_CHILD, nodes - k * PER_CHILD)), layout, String(target)]))
  try {
    await Promise.all(kids.map(async c => await ask(c, '', 'started')))
    let reports: NodeReport[] = []
    let seconds = NaN
    let lastProgress = performance.now()
    while (performance.now() - t0 < timeoutMs) {
      reports = (await Promise.all(kids.map(async c => await ask<NodeReport[]>(c, 'report', 'report')))).flat()
      if (reports.every(r => r.outbound >= target)) { seconds = (performance.now() - t0) / 1000; break }
      if (performance.now() - lastProgress > 10_000) {
        lastProgress = performance.now()
        const out = reports.map(r => r.outbound).sort((a, b) => a - b)
        process.stderr.write(`  pex-scale ${layout}: ${Math.round((lastProgress - t0) / 1000)} s, ${reports.filter(r => r.outbound >= target).length}/${nodes} at target, outbound min ${out[0]} median ${median(out)}\n`)
      }
      await new Promise(resolve => setTimeout(resolve, 250))
    }
    const [seedReport] = await ask<NodeReport[]>(seed, 'report', 'report')
    const books = reports.map(r => r.book).sort((a, b) => a - b)
    const g = graph(reports, seedReport!.id, seedReport!.peers)
    return {
      layout, nodes, target, seconds, converged: reports.filter(r => r.outbound >= target).length,
      bookMin: books[0]!, bookMedian: median(books), bookMax: books[books.length - 1]!,
      connected: g.connected, diameter: g.diameter, seedDegree: seedReport!.peers.length
    }
  } finally {
    for (const c of [...kids, seed]) c.send('stop')
    await Promise.all([...kids, seed].map(async c => await new Promise(resolve => { if (c.exitCode !== null) resolve(null); else c.once('exit', resolve) })))
  }
}

