import { describe, expect, it } from 'vitest'
import dgram from 'node:dgram'
import type os from 'node:os'
import { NodeKey } from '@switchyard/p2p'
import { LanDiscovery, LanDiscoveryError, chooseInterface, readIPv4Routes, routeFor, subnetBroadcast, type IPv4Route } from '@switchyard/discovery-lan'

const v4 = (address: string, netmask: string, internal = false): os.NetworkInterfaceInfo =>
  ({ address, netmask, family: 'IPv4', mac: '00:00:00:00:00:00', internal, cidr: null })
const lo = { lo: [v4('127.0.0.1', '255.0.0.0', true)] }
const route = (iface: string, dst: string, mask: string, metric = 0): IPv4Route => {
  const n = (ip: string): number => ip.split('.').reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0)
  return { iface, destination: n(dst), mask: n(mask), metric }
}

describe('choosing the LAN interface', () => {
  it('derives the subnet broadcast address', () => {
    expect(subnetBroadcast('192.168.1.20', '255.255.255.0')).toBe('192.168.1.255')
    expect(subnetBroadcast('10.1.2.3', '255.255.0.0')).toBe('10.1.255.255')
    expect(subnetBroadcast('127.0.0.1', '255.0.0.0')).toBe('127.255.255.255')
  })

  it('takes the only non-loopback interface, and says when the OS has no route for the group', () => {
    const c = chooseInterface(undefined, '235.5.5.11', { ...lo, eth0: [v4('10.7.0.2', '255.255.255.0')] }, [route('eth0', '10.7.0.0', '255.255.255.0')])
    expect(c).toMatchObject({ name: 'eth0', address: '10.7.0.2', broadcast: '10.7.0.255' })
    expect(c.reason).toContain('no route to 235.5.5.11')
  })

  it('on a multi-homed host takes the interface routing the group, and names the ones left out', () => {
    const ifaces = { ...lo, eth0: [v4('192.168.1.20', '255.255.255.0')], wg0: [v4('10.8.0.5', '255.255.0.0')] }
    const c = chooseInterface(undefined, '235.5.5.11', ifaces, [route('wg0', '0.0.0.0', '0.0.0.0', 100), route('eth0', '224.0.0.0', '240.0.0.0')])
    expect(c.name).toBe('eth0')
    expect(c.reason).toContain('wg0 10.8.0.5')
    expect(c.reason).toContain('lan_discovery_interface')
    // The default route wins when nothing more specific exists.
    expect(chooseInterface(undefined, '235.5.5.11', ifaces, [route('wg0', '0.0.0.0', '0.0.0.0')]).name).toBe('wg0')
  })

  it('takes a configured address or name, and refuses one this host does not have, listing what it has', () => {
    const ifaces = { ...lo, eth0: [v4('192.168.1.20', '255.255.255.0')], eth1: [v4('10.0.0.2', '255.0.0.0')] }
    expect(chooseInterface('10.0.0.2', 'g', ifaces, []).name).toBe('eth1')
    expect(chooseInterface('eth0', 'g', ifaces, []).address).toBe('192.168.1.20')
    expect(() => chooseInterface('172.16.0.1', 'g', ifaces, [])).toThrow(/172\.16\.0\.1.*eth0 192\.168\.1\.20/)
  })

  it('falls back to loopback (saying only this host is reachable), and fails when nothing is up', () => {
    expect(chooseInterface(undefined, 'g', lo, []).reason).toContain('only nodes on this host')
    let err: unknown
    try { chooseInterface(undefined, 'g', {}, []) } catch (e) { err = e }
    expect(err).toBeInstanceOf(LanDiscoveryError)
    expect((err as LanDiscoveryError).code).toBe('ERR_LAN_INTERFACE')
  })

  it('reads the routing table and finds the longest matching prefix', () => {
    const routes = readIPv4Routes()
    if (routes !== undefined) expect(routes.some(r => r.iface.length > 0)).toBe(true)
    const rs = [route('a', '0.0.0.0', '0.0.0.0'), route('b', '10.0.0.0', '255.0.0.0'), route('c', '10.1.0.0', '255.255.0.0')]
    expect(routeFor(rs, '10.1.2.3')?.iface).toBe('c')
    expect(routeFor(rs, '10.2.2.3')?.iface).toBe('b')
    expect(routeFor(rs, '8.8.8.8')?.iface).toBe('a')
    expect(routeFor(rs.slice(1), '235.5.5.11')).toBeUndefined()
  })

  it('start() fails with the cause when the configured interface does not exist, and leaves the port free', async () => {
    const port = 18900 + (process.pid % 90)
    const lan = new LanDiscovery({ nodeKey: NodeKey.generate(), network: 'n', listenPort: 1, port, interface: '10.255.255.254' })
    await expect(lan.start()).rejects.toMatchObject({ code: 'ERR_LAN_INTERFACE', message: expect.stringContaining('10.255.255.254') })
    // Nothing half-alive: the port binds exclusively again.
    const s = dgram.createSocket('udp4')
    await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind(port, '0.0.0.0', resolve) })
    s.close()
  })

  it('start() fails with ERR_LAN_MULTICAST_JOIN naming group, interface and OS error when the join fails, and frees the port', async () => {
    const port = 18980 + (process.pid % 9)
    // 10.1.2.3 is not a multicast group: the kernel refuses the join (EINVAL), as it refuses one with no route (ENODEV).
    const lan = new LanDiscovery({ nodeKey: NodeKey.generate(), network: 'n', listenPort: 1, port, interface: '127.0.0.1', group: '10.1.2.3' })
    await expect(lan.start()).rejects.toMatchObject({ code: 'ERR_LAN_MULTICAST_JOIN', message: expect.stringMatching(/group 10\.1\.2\.3 on lo \(127\.0\.0\.1\): addMembership E[A-Z]+/) })
    const s = dgram.createSocket('udp4')
    await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind(port, '0.0.0.0', resolve) })
    s.close()
  })

  it('broadcasts to the chosen interface\'s subnet by default, and counts only sends that succeeded', async () => {
    const port = 18990 + (process.pid % 9)
    const lan = new LanDiscovery({ nodeKey: NodeKey.generate(), network: 'n', listenPort: 1, port, interface: '127.0.0.1', mode: 'both', interval: 60_000 })
    await lan.start()
    try {
      expect(lan.destinations).toEqual(['235.5.5.11', '127.255.255.255'])
      expect(lan.interface?.name).toBe('lo')
      await new Promise<void>((resolve, reject) => { const t = setInterval(() => { if (lan.stats.sent === 2) { clearInterval(t); resolve() } }, 5); setTimeout(() => { clearInterval(t); reject(new Error(`sent ${lan.stats.sent}`)) }, 3000) })
    } finally { await lan.stop() }
    // A destination the kernel refuses from a loopback source (EINVAL): counted by code, not as sent.
    const bad = new LanDiscovery({ nodeKey: NodeKey.generate(), network: 'n', listenPort: 1, port, interface: '127.0.0.1', mode: 'broadcast', broadcastAddress: '240.0.0.1', interval: 60_000 })
    const errors: string[] = []
    bad.on('send-error', e => errors.push(`${e.destination} ${e.code}`))
    await bad.start()
    try {
      await new Promise<void>((resolve, reject) => { const t = setInterval(() => { if (bad.stats.sendFailures.size > 0) { clearInterval(t); resolve() } }, 5); setTimeout(() => { clearInterval(t); reject(new Error(`sent ${bad.stats.sent}, failures ${[...bad.stats.sendFailures]}`)) }, 3000) })
      expect(bad.stats.sent).toBe(0)
      expect(errors).toEqual(['240.0.0.1 EINVAL'])
    } finally { await bad.stop() }
  })
})
