/**
 * pnpm soak: N nodes (default 50) in this process on loopback, finding each other through one
 * seed with PEX, exchanging chat-style messages, with churn (nodes leave and new ones join) for a
 * set time. Reports messages delivered and lost on live connections (must be 0), sends refused,
 * RSS over time, event-loop lag p99, and peer removals by error code.
 *
 * Exits 1 when a message was lost or duplicated, or none was delivered (soak-verdict.ts).
 * --inject-loss N skips a sequence number every N sends (a message "lost in transit"), to check
 * that the run does fail then.
 *
 *   node --expose-gc bench/dist/soak.js [--nodes 50] [--minutes 10] [--churn-every 5] [--report FILE] [--inject-loss N]
 */
import { writeFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { NodeKey, Reactor, Switch, channel, peerDataKey, type Envelope, type Peer } from '@switchyard/p2p'
import { AddrBook, PexReactor } from '@switchyard/pex'
import { soakVerdict } from './soak-verdict.js'

const args = process.argv.slice(2)
const arg = (name: string, dflt: number): number => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : dflt }
const NODES = arg('--nodes', 50)
const MINUTES = arg('--minutes', 10)
const CHURN_EVERY_S = arg('--churn-every', 5)
const reportIdx = args.indexOf('--report')
const REPORT = reportIdx >= 0 ? args[reportIdx + 1] : undefined
const INJECT_LOSS = arg('--inject-loss', 0)
let sends = 0

/** Chat messages carry a per-connection sequence number: 8 bytes seq + a line of text. */
const Chat = channel<Uint8Array>({ id: 0x60, priority: 5, sendQueueCapacity: 200 })
const Seq = peerDataKey<{ sent: number, expect: number }>('soak.seq')

const totals = { delivered: 0, lost: 0, sendRefused: 0, duplicates: 0 }
const removals = new Map<string, number>()

class ChatLoad extends Reactor {
  readonly channels = [Chat]
  override initPeer (peer: Peer): void { peer.set(Seq, { sent: 0, expect: 0 }) }
  override receive ({ peer, message }: Envelope<Uint8Array>): void {
    const st = peer.get(Seq)!
    const seq = Number(Buffer.from(message).readBigUInt64BE(0))
    if (seq < st.expect) totals.duplicates++
    else { totals.lost += seq - st.expect; totals.delivered++; st.expect = seq + 1 }
  }

  tick (): void {
    for (const p of this.switch.peers.values()) {
      const st = p.get(Seq)
      if (st === undefined) continue
      const b = Buffer.alloc(8 + 120, 0x61)
      b.writeBigUInt64BE(BigInt(st.sent), 0)
      // Numbered only when queued, so a refused send is not counted as a loss at the receiver.
      if (p.trySend(Chat, b)) {
        st.sent++
        if (INJECT_LOSS > 0 && ++sends % INJECT_LOSS === 0) st.sent++ // a gap the receiver must count as lost
      } else {
        totals.sendRefused++
      }
    }
  }
}

interface Node { sw: Switch, chat: ChatLoad, ip: string }
let ipCounter = 0
const nextIp = (): string => { const n = ipCounter++; return `127.1.${(n >> 8) & 255}.${(n & 255) + 1}` }

async function startNode (seed: string): Promise<Node> {
  const ip = nextIp()
  const book = new AddrBook({ strict: false })
  const sw = new Switch({ nodeKey: NodeKey.generate(), network: 'soak', listenAddress: `tcp://${ip}:0`, dialFromAddress: ip, addressBook: book, maxOutboundPeers: 6, dialJitter: 0 })
  const chat = new ChatLoad()
  sw.addReactor('chat', chat)
  sw.addReactor('pex', new PexReactor({ book, seeds: [seed], ensurePeersPeriod: 2000, startJitter: false, dialBackoffUnit: 200 }))
  sw.on('peer:remove', (_p, reason) => removals.set(reason?.code ?? 'graceful', (removals.get(reason?.code ?? 'graceful') ?? 0) + 1))
  await sw.start()
  return { sw, chat, ip }
}

async function main (): Promise<void> {
  const lag = monitorEventLoopDelay({ resolution: 10 })
  lag.enable()
  const seedBook = new AddrBook({ strict: false })
  const seed = new Switch({ nodeKey: NodeKey.generate(), network: 'soak', listenAddress: `tcp://${nextIp()}:0`, addressBook: seedBook, maxInboundPeers: 1000 })
  seed.addReactor('pex', new PexReactor({ book: seedBook, seedMode: true, crawlPeriod: 60_000 }))
  await seed.start()
  const nodes: Node[] = []
  for (let i = 0; i < NODES; i++) nodes.push(await startNode(seed.address))
  const started = Date.now()
  const rss: Array<{ s: number, mb: number, heapMB: number, peers: number }> = []
  const gc = (globalThis as { gc?: () => void }).gc
  let joined = NODES
  let left = 0
  const traffic = setInterval(() => { for (const n of nodes) n.chat.tick() }, 100)
  const sample = setInterval(() => {
    const peers = nodes.reduce((a, n) => a + n.sw.peers.size, 0)
    gc?.() // with --expose-gc, heapMB is live memory after a collection: the number that shows a leak
    const mem = process.memoryUsage()
    rss.push({ s: Math.round((Date.now() - started) / 1000), mb: Math.round(mem.rss / 1e6), heapMB: Math.round(mem.heapUsed / 1e6), peers })
    console.log(JSON.stringify({ t: rss.at(-1)!.s, rssMB: rss.at(-1)!.mb, heapMB: rss.at(-1)!.heapMB, connections: peers, ...totals, lagP99ms: Math.round(lag.percentile(99) / 1e6) }))
  }, 10_000)
  const churn = setInterval(() => {
    // One node leaves gracefully, a new one joins.
    const victim = nodes.splice(Math.floor(Math.random() * nodes.length), 1)[0]!
    void victim.sw.stop().then(() => { left++ })
    void startNode(seed.address).then(n => { nodes.push(n); joined++ })
  }, CHURN_EVERY_S * 1000)
  await new Promise(resolve => setTimeout(resolve, MINUTES * 60_000))
  clearInterval(traffic)
  clearInterval(sample)
  clearInterval(churn)
  const report = {
    nodes: NODES, minutes: MINUTES, churnEverySeconds: CHURN_EVERY_S, joined, left,
    messagesDelivered: totals.delivered, messagesLost: totals.lost, duplicates: totals.duplicates, sendsRefusedQueueFull: totals.sendRefused,
    rssMB: { first: rss[0]?.mb, max: Math.max(...rss.map(r => r.mb)), last: rss.at(-1)?.mb },
    eventLoopLagMs: { p50: lag.percentile(50) / 1e6, p99: lag.percentile(99) / 1e6, max: lag.max / 1e6 },
    removalsByCode: Object.fromEntries(removals),
    rssSamples: rss
  }
  console.log(JSON.stringify(report, null, 2))
  if (REPORT !== undefined) writeFileSync(REPORT, JSON.stringify(report, null, 2))
  await Promise.all([...nodes.map(async n => { await n.sw.stop() }), seed.stop()])
  const verdict = soakVerdict(report)
  if (!verdict.ok) console.error(`soak FAILED: ${verdict.problems.join('; ')}`)
  process.exit(verdict.ok ? 0 : 1)
}

main().catch(err => { console.error(err); process.exit(1) })
