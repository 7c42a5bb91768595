import { afterEach, describe, expect, it } from 'vitest'
import net from 'node:net'
import { NodeKey, Reactor, Switch, channel, type Channel, type SwitchOptions } from '@switchyard/p2p'
import { HostilePeer, waitFor } from '@switchyard/testing'

const A = channel({ id: 0x40, priority: 1 })
class Quiet extends Reactor {
  readonly channels: Array<Channel<any>> = [A]
}

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f()
})

async function node (ip: string, opts: Partial<SwitchOptions> = {}): Promise<Switch> {
  const sw = new Switch({ nodeKey: NodeKey.generate(), network: 'slots', listenAddress: `tcp://${ip}:0`, dialFromAddress: ip, allowDuplicateIp: true, ...opts })
  sw.addReactor('q', new Quiet())
  await sw.start()
  cleanup.push(async () => { await sw.stop() })
  return sw
}

/** `n` connections from `ip` that never say a word (they hold a handshake slot until its timeout). */
async function silent (to: Switch, ip: string, n: number): Promise<void> {
  const port = Number(to.address.split(':').pop())
  for (let i = 0; i < n; i++) {
    const p = await HostilePeer.connect('127.0.0.1', port, { localAddress: ip })
    cleanup.push(() => p.destroy())
  }
}

describe('Transport: inbound handshake slots', () => {
  it('one IP holding silent connections takes at most its per-IP share; another IP still gets in; refusals are counted and emitted', async () => {
    const hub = await node('127.0.0.1', { maxPendingHandshakes: 8, maxPendingHandshakesPerIp: 2 })
    const refused: Array<{ remoteIp: string, reason: string }> = []
    hub.on('handshake:refused', r => refused.push(r))
    await silent(hub, '127.0.9.2', 10)
    await waitFor(() => hub.transport.pendingHandshakes + refused.length === 10, { what: 'every silent connection accepted or refused' })
    expect(hub.transport.pendingHandshakes).toBe(2)
    expect(refused).toHaveLength(8)
    expect(refused.every(r => r.remoteIp === '127.0.9.2' && r.reason === 'per-ip')).toBe(true)
    expect(hub.transport.refusals).toEqual({ full: 0, 'per-ip': 8 })
    const honest = await node('127.0.9.3')
    await honest.dial(hub.address)
    await waitFor(() => hub.peers.has(honest.nodeKey.id), { what: 'the honest peer admitted' })
  })

  it('a connection refused because every slot is taken is a "full" event and counter', async () => {
    const hub = await node('127.0.0.1', { maxPendingHandshakes: 3, maxPendingHandshakesPerIp: 2 })
    const refused: Array<{ remoteIp: string, reason: string }> = []
    hub.on('handshake:refused', r => refused.push(r))
    await silent(hub, '127.0.9.4', 2)
    await silent(hub, '127.0.9.5', 1)
    await waitFor(() => hub.transport.pendingHandshakes === 3, { what: 'three handshakes pending' })
    await silent(hub, '127.0.9.6', 1)
    await waitFor(() => refused.length === 1, { what: 'the refusal event' })
    expect(refused[0]).toMatchObject({ remoteIp: '127.0.9.6', reason: 'full' })
    expect(hub.transport.refusals.full).toBe(1)
  })

  it('our own dials in progress do not take the inbound handshake slots', async () => {
    // A TCP server that accepts and never answers: our dial to it stays in its handshake.
    const hole = net.createServer(s => { cleanup.push(() => s.destroy()) })
    await new Promise<void>(resolve => hole.listen(0, '127.0.9.7', resolve))
    cleanup.push(() => hole.close())
    const hub = await node('127.0.0.1', { maxPendingHandshakes: 1, handshakeTimeout: 20_000 })
    const dialing = hub.dial(`${NodeKey.generate().id}@127.0.9.7:${(hole.address() as net.AddressInfo).port}`).catch(() => undefined)
    cleanup.push(async () => { await dialing })
    await waitFor(() => hub.transport.pendingDials === 1, { what: 'our dial in its handshake' })
    const honest = await node('127.0.9.8')
    await honest.dial(hub.address)
    await waitFor(() => hub.peers.has(honest.nodeKey.id), { what: 'the inbound peer admitted while our dial is pending' })
    expect(hub.transport.refusals).toEqual({ full: 0, 'per-ip': 0 })
  })
})
