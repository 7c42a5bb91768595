import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { NodeKey, Reactor, Switch, channel, parseStreamAddress, type Channel } from '@switchyard/p2p'
import { waitFor, waitForEvent } from '@switchyard/testing'

const CH = channel({ id: 0x40, priority: 1 })
class Quiet extends Reactor { readonly channels: Array<Channel<any>> = [CH] }

const switches: Switch[] = []
const servers: net.Server[] = []
afterEach(async () => {
  await Promise.all(switches.splice(0).map(async s => { await s.stop() }))
  for (const s of servers.splice(0)) s.close()
})

async function started (options: Partial<ConstructorParameters<typeof Switch>[0]> = {}): Promise<Switch> {
  const sw = new Switch({ nodeKey: NodeKey.generate(), network: 'seam', allowDuplicateIp: true, ...options })
  sw.addReactor('q', new Quiet())
  await sw.start()
  switches.push(sw)
  return sw
}

describe('Transport seam for other transports', () => {
  it('parseStreamAddress keeps the scheme, host as written, port and path; refuses what is not scheme://id@host:port', () => {
    const id = NodeKey.generate().id
    expect(parseStreamAddress(`wss://${id}@node.example.org:443/p2p`)).toMatchObject({ scheme: 'wss', id, host: 'node.example.org', port: 443, path: '/p2p' })
    expect(parseStreamAddress(`ws://${id}@[::1]:26658`)).toMatchObject({ host: '::1', port: 26658, path: '' })
    for (const bad of [`ws://${id}@host`, `ws://nothex@host:1`, `${id}@127.0.0.1:1`, `ws://${id}@host:70000`]) {
      expect(() => parseStreamAddress(bad), bad).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ADDRESS' }))
    }
  })

  it('a stream accepted by another listener and a scheme dialed by a registered dialer become ordinary peers, kept out of the address book', async () => {
    const target = await started()
    // "Another listener": a plain TCP server whose sockets are handed to acceptStream.
    const server = net.createServer(s => { void target.transport.acceptStream(s, s.remoteAddress ?? '', s.remotePort ?? 0) })
    servers.push(server)
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as net.AddressInfo).port

    const good: string[] = []
    const dialer = await started({ addressBook: { markGood: a => { good.push(a.toString()) } } })
    dialer.transport.registerDialer('tcpx', async addr => {
      const s = net.connect(addr.port, addr.host)
      await waitForEvent(s, 'connect')
      return { stream: s, remoteIp: addr.host, remotePort: addr.port }
    })
    expect(dialer.transport.dialsScheme(`tcpx://${target.nodeKey.id}@127.0.0.1:${port}`)).toBe(true)
    expect(dialer.transport.dialsScheme(`ws://${target.nodeKey.id}@127.0.0.1:${port}`)).toBe(false)
    const peer = await dialer.dial(`tcpx://${target.nodeKey.id}@127.0.0.1:${port}`)
    expect(peer.id).toBe(target.nodeKey.id)
    await waitFor(() => target.peers.has(dialer.nodeKey.id), { what: 'the inbound peer' })
    expect(target.peers.get(dialer.nodeKey.id)!.outbound).toBe(false)
    expect(good).toEqual([])
  })

  it('verify can drop an authenticated stream; the Switch reports it as peer:rejected', async () => {
    const target = await started()
    const server = net.createServer(s => {
      void target.transport.acceptStream(s, s.remoteAddress ?? '', s.remotePort ?? 0, { verify: () => { throw Object.assign(new Error('no'), { code: 'ERR_TEST' }) } })
    })
    servers.push(server)
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const dialer = await started()
    const rejected = waitForEvent<[{ error: { message: string } }]>(target, 'peer:rejected')
    await dialer.dial(`${target.nodeKey.id}@127.0.0.1:${(server.address() as net.AddressInfo).port}`).catch(() => undefined)
    expect((await rejected)[0].error.message).toMatch(/no/)
    await waitFor(() => dialer.peers.size === 0, { what: 'the dialer to be dropped' })
    expect(target.peers.size).toBe(0)
  })
})
