/** Child process for the scale run: `count` client nodes that dial the hub and stay idle. */
import { NodeKey, Reactor, Switch, channel } from '@switchyard/p2p'

const [hub, countArg, block] = process.argv.slice(2) as [string, string, string]
const Idle = channel({ id: 0x70, priority: 1 })
class IdleReactor extends Reactor { readonly channels = [Idle] }

const switches: Switch[] = []
for (let i = 0; i < Number(countArg); i++) {
  const ip = `127.2.${block}.${i + 1}`
  const sw = new Switch({ nodeKey: NodeKey.generate(), network: 'scale', dialFromAddress: ip, dialJitter: 0 })
  sw.addReactor('idle', new IdleReactor())
  await sw.start()
  switches.push(sw)
}
let connected = 0
await Promise.all(switches.map(async sw => {
  for (let attempt = 0; attempt < 5; attempt++) {
    try { await sw.dial(hub); connected++; return } catch { await new Promise(resolve => setTimeout(resolve, 200 * (attempt + 1))) }
  }
}))
process.send?.({ connected })
process.on('message', () => { void Promise.all(switches.map(async s => { await s.stop() })).then(() => process.exit(0)) })
