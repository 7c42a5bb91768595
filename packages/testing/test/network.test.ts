import { describe, expect, it } from 'vitest'
import { AddrBook, groupKey } from '@switchyard/pex'
import { NetAddress } from '@switchyard/p2p'
import { TestNetwork, spreadIp } from '@switchyard/testing'

describe('TestNetwork addresses', () => {
  it('spreads nodes over many /16 groups, without collisions between networks', () => {
    const ips = Array.from({ length: 600 }, (_, i) => spreadIp(7, i))
    expect(new Set(ips).size).toBe(600)
    expect(new Set(ips.map(ip => groupKey(new NetAddress('a'.repeat(40), ip, 1), false))).size).toBe(250)
    expect(spreadIp(7, 3)).not.toBe(spreadIp(8, 3))
  })

  it('a book fed from one started network keeps every node, where one /16 would have capped it at a bucket', async () => {
    const net = await TestNetwork.start({ size: 150 })
    try {
      expect(new Set(net.nodes.map(n => n.ip.split('.').slice(0, 2).join('.'))).size).toBe(150)
      const hub = NetAddress.parse(net.node(0).address)
      const spread = new AddrBook({ strict: false })
      for (const n of net.nodes.slice(1)) spread.addAddress(NetAddress.parse(n.address), hub)
      expect(spread.size).toBe(149)
      // The same nodes as the old 127.0.<block>.<i> layout gave them: one group, one bucket.
      const oneGroup = new AddrBook({ strict: false })
      for (const n of net.nodes.slice(1)) oneGroup.addAddress(new NetAddress(n.id, `127.0.9.${n.index + 2}`, 1), hub)
      expect(oneGroup.size).toBeLessThanOrEqual(64)
    } finally { await net.stop() }
  }, 30_000)
})
