/**
 * Child process for the dead-address benchmark: `count` live Switchyard nodes (Switch + PEX, no
 * seeds), each on its own loopback IP in its own /16 group. Sends their addresses to the parent
 * and runs until told to stop.
 */
import { NodeKey, Switch } from '@switchyard/p2p'
import { AddrBook, PexReactor } from '@switchyard/pex'

const [network, countArg, blockArg] = process.argv.slice(2) as [string, string, string]
const block = Number(blockArg)
const switches: Switch[] = []
for (let i = 0; i < Number(countArg); i++) {
  const ip = `127.${30 + i}.${block}.1`
  const sw = new Switch({ nodeKey: NodeKey.generate(), network, listenAddress: `tcp://${ip}:0`, dialFromAddress: ip, dialJitter: 0 })
  sw.addReactor('pex', new PexReactor({ book: new AddrBook({ strict: false }), ensurePeersPeriod: 600_000, startJitter: false }))
  await sw.start()
  switches.push(sw)
}
process.send?.({ addresses: switches.map(s => s.address) })
process.on('message', () => { void Promise.all(switches.map(async s => { await s.stop() })).then(() => process.exit(0)) })
