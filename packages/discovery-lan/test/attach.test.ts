import { afterEach, describe, expect, it } from 'vitest'
import net from 'node:net'
import { NetAddress, NodeKey, Switch } from '@switchyard/p2p'
import { LanDiscovery, attachLanDiscovery, type Announcement } from '@switchyard/discovery-lan'
import { waitFor } from '@switchyard/testing'

const running: Array<{ stop: () => Promise<void> }> = []
afterEach(async () => { await Promise.all(running.splice(0).map(async r => { await r.stop() })) })

async function node (ip: string, key = NodeKey.generate()): Promise<{ sw: Switch, lan: LanDiscovery, dials: string[] }> {
  const sw = new Switch({ nodeKey: key, network: 'lan-net', listenAddress: `tcp://${ip}:0`, dialFromAddress: ip, dialJitter: 0 })
  await sw.start()
  running.push(sw)
  const dials: string[] = []
  const dial = sw.dial.bind(sw)
  sw.dial = async (a: Parameters<Switch['dial']>[0]) => { dials.push(String(a)); return await dial(a) }
  // Never started: the test plays the discoveries.
  const lan = new LanDiscovery({ nodeKey: key, network: 'lan-net', listenPort: 1 })
  return { sw, lan, dials }
}

const heard = (lan: LanDiscovery, address: NetAddress): boolean => lan.emit('peer', { id: address.id, address, announcement: {} as Announcement, firstSeen: false })

/** Two keys, the first with the lower ID. */
function orderedKeys (): [NodeKey, NodeKey] {
  const a = NodeKey.generate()
  const b = NodeKey.generate()
  return a.id < b.id ? [a, b] : [b, a]
}

describe('attachLanDiscovery', () => {
  it('backs off per address after a failed dial: 1 s, then 2 s, not a dial per announcement', async () => {
    const [low, high] = orderedKeys()
    const me = await node('127.0.88.1', low)
    let t = 0
    attachLanDiscovery(me.lan, me.sw, undefined, { now: () => t })
    // A port where nobody listens.
    const closed = net.createServer()
    await new Promise<void>(resolve => closed.listen(0, '127.0.88.2', resolve))
    const port = (closed.address() as net.AddressInfo).port
    await new Promise(resolve => closed.close(resolve))
    const target = new NetAddress(high.id, '127.0.88.2', port)
    let failed = 0
    me.sw.on('peer:rejected', ({ outbound }) => { if (outbound) failed++ })
    const failedOnce = async (n: number): Promise<void> => {
      await waitFor(() => failed === n, { what: `dial ${n} to fail` })
      await new Promise(resolve => setImmediate(resolve)) // the dial's rejection handler runs after the event
      expect(me.dials.length).toBe(n)
    }
    for (let i = 0; i < 10; i++) heard(me.lan, target)
    await failedOnce(1)
    t = 999
    heard(me.lan, target)
    expect(me.dials.length).toBe(1)
    t = 1000
    heard(me.lan, target)
    await failedOnce(2)
    t = 2999
    heard(me.lan, target)
    expect(me.dials.length).toBe(2)
    t = 3000
    heard(me.lan, target)
    await failedOnce(3)
  })

  it('only the lower ID dials at once; the higher one dials after the grace if still unconnected', async () => {
    const [lowKey, highKey] = orderedKeys()
    const low = await node('127.0.88.11', lowKey)
    const high = await node('127.0.88.12', highKey)
    let t = 0
    attachLanDiscovery(high.lan, high.sw, undefined, { now: () => t, dialGrace: 5000 })
    attachLanDiscovery(low.lan, low.sw, undefined, { now: () => t, dialGrace: 5000 })
    const addr = (n: { sw: Switch }): NetAddress => NetAddress.parse(n.sw.address)
    heard(high.lan, addr(low))
    expect(high.dials).toEqual([])
    t = 4999
    heard(high.lan, addr(low))
    expect(high.dials).toEqual([])
    t = 5000
    heard(high.lan, addr(low))
    expect(high.dials.length).toBe(1)
    await waitFor(() => high.sw.peers.has(lowKey.id) && low.sw.peers.has(highKey.id))
    // And the lower one, hearing the higher, dials at once (a third pair to keep the first clean).
    const [k1, k2] = orderedKeys()
    const a = await node('127.0.88.13', k1)
    const b = await node('127.0.88.14', k2)
    attachLanDiscovery(a.lan, a.sw, undefined, { now: () => 0 })
    heard(a.lan, addr(b))
    expect(a.dials.length).toBe(1)
    await waitFor(() => a.sw.peers.has(k2.id))
  })
})
