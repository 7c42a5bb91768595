import { afterEach, describe, expect, it } from 'vitest'
import net from 'node:net'
import * as p2p from '@switchyard/p2p'
import { DuplicatePeerError, NodeKey, Switch, SwitchyardError } from '@switchyard/p2p'
import { SwitchyardError as WireSwitchyardError } from '@switchyard/wire'

const switches: Switch[] = []
afterEach(async () => { await Promise.all(switches.splice(0).map(async s => { await s.stop() })) })

describe('@switchyard/p2p API edges', () => {
  it('re-exports SwitchyardError: the same class @switchyard/wire defines, base of p2p errors', () => {
    expect(p2p.SwitchyardError).toBe(WireSwitchyardError)
    expect(new DuplicatePeerError('x')).toBeInstanceOf(SwitchyardError)
  })

  it('dial() with an already-aborted signal rejects with an AbortError and opens no connection', async () => {
    let connections = 0
    const target = net.createServer(s => { connections++; s.destroy() })
    await new Promise<void>(resolve => target.listen(0, '127.0.77.1', resolve))
    try {
      const sw = new Switch({ nodeKey: NodeKey.generate(), network: 'n', listenAddress: 'tcp://127.0.77.2:0' })
      switches.push(sw)
      await sw.start()
      const rejected: string[] = []
      sw.on('peer:rejected', e => rejected.push(e.error.code))
      const ac = new AbortController()
      ac.abort(new Error('caller gave up'))
      const address = `${NodeKey.generate().id}@127.0.77.1:${(target.address() as net.AddressInfo).port}`
      const err = await sw.dial(address, { signal: ac.signal }).catch((e: unknown) => e)
      expect(err).toMatchObject({ name: 'AbortError', code: 'ERR_ABORTED' })
      expect((err as Error).cause).toBe(ac.signal.reason)
      expect(connections).toBe(0)
      expect(sw.numPeers().dialing).toBe(0)
      expect(rejected).toEqual([])
    } finally {
      target.close()
    }
  })
})
