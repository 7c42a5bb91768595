/** Two nodes on loopback: one asks "foo", the other answers "bar". `node examples/foo-bar/dist/main.js` */
import { NodeKey, Switch } from '@switchyard/p2p'
import { FooBarReactor } from './index.js'

const make = async (name: string): Promise<{ sw: Switch, foobar: FooBarReactor }> => {
  const sw = new Switch({ nodeKey: NodeKey.generate(), network: 'foo-bar', moniker: name, listenAddress: 'tcp://127.0.0.1:0' })
  const foobar = new FooBarReactor()
  sw.addReactor('foobar', foobar)
  await sw.start()
  return { sw, foobar }
}

const a = await make('a')
const b = await make('b')
const peer = await a.sw.dial(b.sw.address)
console.log(`a → b: foo`)
console.log(`b → a: ${await a.foobar.ask(peer)}`)
await Promise.all([a.sw.stop(), b.sw.stop()])
