/**
 * Which network interface LAN discovery uses. Leaving it to the OS is what went wrong on real
 * hosts: with no route for the multicast group the join fails (ENODEV), and with the default route
 * on a second interface announcements leave by the wrong one. So we always pick one explicitly,
 * say why, and derive the subnet broadcast address from it.
 */
import { readFileSync } from 'node:fs'
import os from 'node:os'
import { SwitchyardError } from '@switchyard/wire'

/** LAN discovery cannot run as configured: no usable interface, or joining the group failed. */
export class LanDiscoveryError extends SwitchyardError {}

export interface LanInterface {
  /** Interface name (eth0, lo …). */
  name: string
  address: string
  netmask: string
  /** The subnet's broadcast address (address | ~netmask). */
  broadcast: string
  /** Why this one: shown to operators in the start-up log line. */
  reason: string
}

export interface IPv4Route { iface: string, destination: number, mask: number, metric: number }

const toInt = (ip: string): number => ip.split('.').reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0)
const toIp = (n: number): string => [24, 16, 8, 0].map(s => (n >>> s) & 255).join('.')

export function subnetBroadcast (address: string, netmask: string): string {
  return toIp((toInt(address) | (~toInt(netmask) >>> 0)) >>> 0)
}

/** The IPv4 routing table from /proc/net/route (Linux); empty where there is none. */
export function readIPv4Routes (path = '/proc/net/route'): IPv4Route[] | undefined {
  let text: string
  try { text = readFileSync(path, 'utf8') } catch { return undefined }
  // Fields are little-endian hex: Iface Destination Gateway Flags RefCnt Use Metric Mask …
  const le = (hex: string): number => Buffer.from(hex, 'hex').readUInt32LE(0)
  return text.trim().split('\n').slice(1).map(line => line.trim().split(/\s+/)).filter(f => f.length >= 8)
    .map(f => ({ iface: f[0]!, destination: le(f[1]!), mask: le(f[7]!), metric: Number(f[6]) }))
}

/** The interface the kernel would route `ip` through (longest prefix, then lowest metric). */
export function routeFor (routes: IPv4Route[], ip: string): IPv4Route | undefined {
  const dst = toInt(ip)
  let best: IPv4Route | undefined
  for (const r of routes) {
    if (((dst & r.mask) >>> 0) !== r.destination) continue
    if (best === undefined || r.mask > best.mask || (r.mask === best.mask && r.metric < best.metric)) best = r
  }
  return best
}

type Interfaces = NodeJS.Dict<os.NetworkInterfaceInfo[]>

/**
 * Picks the interface: the configured one (an address of this host or an interface name), else
 * the only non-loopback IPv4 interface, else the one routing `group`, else the first; loopback
 * only when nothing else is up. Throws LanDiscoveryError when nothing usable exists.
 */
export function chooseInterface (configured: string | undefined, group: string, ifaces: Interfaces = os.networkInterfaces(), routes: IPv4Route[] | undefined = readIPv4Routes()): LanInterface {
  const all = Object.entries(ifaces).flatMap(([name, list]) => (list ?? []).filter(i => i.family === 'IPv4').map(i => ({ name, ...i })))
  const pick = (i: typeof all[number], reason: string): LanInterface => ({ name: i.name, address: i.address, netmask: i.netmask, broadcast: subnetBroadcast(i.address, i.netmask), reason })
  if (configured !== undefined && configured !== '') {
    const hit = all.find(i => i.address === configured || i.name === configured)
    if (hit === undefined) {
      const have = all.map(i => `${i.name} ${i.address}`).join(', ')
      throw new LanDiscoveryError('ERR_LAN_INTERFACE', `lan_discovery_interface ${JSON.stringify(configured)} is neither an IPv4 address nor an interface name of this host (it has: ${have === '' ? 'no IPv4 interface up' : have})`)
    }
    return pick(hit, 'configured')
  }
  const lan = all.filter(i => !i.internal)
  const groupRoute = routes === undefined ? undefined : routeFor(routes, group)
  const routeNote = routes === undefined ? '' : groupRoute === undefined ? `; no route to ${group}, so the OS alone could not join it (ENODEV)` : ''
  if (lan.length === 1) return pick(lan[0]!, `the only IPv4 interface besides loopback${routeNote}`)
  if (lan.length > 1) {
    const others = (chosen: string): string => lan.filter(i => i.name !== chosen).map(i => `${i.name} ${i.address}`).join(', ')
    const routed = groupRoute === undefined ? undefined : lan.find(i => i.name === groupRoute.iface)
    if (routed !== undefined) return pick(routed, `the route to ${group}; not used: ${others(routed.name)} (set lan_discovery_interface to choose)`)
    return pick(lan[0]!, `the first of several${routeNote}; not used: ${others(lan[0]!.name)} (set lan_discovery_interface to choose)`)
  }
  const lo = all.find(i => i.internal)
  if (lo !== undefined) return pick(lo, 'no IPv4 interface besides loopback is up: only nodes on this host can be found')
  throw new LanDiscoveryError('ERR_LAN_INTERFACE', 'no IPv4 interface is up (not even loopback): LAN discovery has nothing to send on')
}
