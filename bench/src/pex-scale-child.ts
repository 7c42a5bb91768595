/**
 * Child process of the PEX convergence bench: `count` nodes (Switch + PEX) that know only the
 * seed, or (role "seed") the seed itself. Answers "report" messages with each node's peers,
 * outbound count and book size, and "stop" by stopping everything.
 *   node pex-scale-child.js <role: seed|nodes> <seed address or ""> <first global index> <count> <layout: spread|one16> <target>
 */
import { NodeKey, Switch } from '@switchyard/p2p'
import { AddrBook, PexReactor } from '@switchyard/pex'
import { spreadIp } from '@switchyard/testing'

const [role, seedAddress, firstArg, countArg, layout, targetArg] = process.argv.slice(2) as [string, string, string, string, string, string]
const first = Number(firstArg)
const target = Number(targetArg)
const PERIOD = 1000

interface Node { sw: Switch, book: AddrBook }
const nodes: Node[] = []

/** Global node g: spread over /16 groups, or all in 127.0.0.0/16 as the old test networks were. */
const ipOf = (g: number): string => layout === 'spread' ? spreadIp(200, g) : `127.0.${200 + Math.floor(g / 250)}.${2 + (g % 250)}`

if (role === 'seed') {
  const book = new AddrBook({ strict: false })
  const sw = new Switch({ nodeKey: NodeKey.generate(), network: 'pex-scale', listenAddress: 'tcp://127.251.0.1:0', dialFromAddress: '127.251.0.1', addressBook: book, maxInboundPeers: 1000, maxPendingHandshakes: 512, dialJitter: 0 })
  sw.addReactor('pex', new PexReactor({ book, seedMode: true, ensurePeersPeriod: PERIOD, seedDisconnectWaitPeriod: 5000, startJitter: false }))
  await sw.start()
  nodes.push({ sw, book })
  process.send?.({ started: sw.address })
} else {
  for (let i = 0; i < Number(countArg); i++) {
    const ip = ipOf(first + i)
    const book = new AddrBook({ strict: false })
    const sw = new Switch({ nodeKey: NodeKey.generate(), network: 'pex-scale', listenAddress: `tcp://${ip}:0`, dialFromAddress: ip, addressBook: book, maxOutboundPeers: target, dialJitter: 0 })
    sw.addReactor('pex', new PexReactor({ book, seeds: [seedAddress], ensurePeersPeriod: PERIOD, startJitter: true, dialBackoffUnit: 100 }))
    nodes.push({ sw, book })
  }
  // Start together (the bench's clock starts when the parent forks us).
  await Promise.all(nodes.map(async n => { await n.sw.start() }))
  process.send?.({ started: nodes.length })
}

process.on('message', (m: string) => {
  if (m === 'report') {
    process.send?.({ report: nodes.map(n => ({ id: n.sw.nodeKey.id, outbound: n.sw.numPeers().outbound, book: n.book.size, peers: [...n.sw.peers.keys()] })) })
  } else if (m === 'stop') {
    void Promise.all(nodes.map(async n => { await n.sw.stop({ timeout: 500 }) })).then(() => process.exit(0))
  }
})
