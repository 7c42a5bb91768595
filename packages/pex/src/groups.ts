/**
 * Network groups for bucket placement: addresses in one group share buckets, so one operator (or
 * one liar) cannot fill the book. IPv4 groups by /16, IPv6 by /32; in strict mode local and
 * non-routable addresses form their own groups.
 */
import net from 'node:net'
import { expandIPv6, type NetAddress } from '@switchyard/p2p'

export function groupKey (addr: NetAddress, strict: boolean): string {
  if (strict) {
    if (addr.isLocal()) return 'local'
    if (!addr.isRoutable()) return 'unroutable'
  }
  if (net.isIPv4(addr.ip)) {
    const [a, b] = addr.ip.split('.')
    return `${a}.${b}.0.0`
  }
  const g = expandIPv6(addr.ip) ?? []
  // 6to4 (2002::/16): the embedded IPv4's /16.
  if (g[0] === 0x2002) return `${g[1]! >> 8}.${g[1]! & 0xff}.0.0`
  // Teredo (2001::/32): the obfuscated client IPv4's /16.
  if (g[0] === 0x2001 && g[1] === 0) return `${(g[6]! >> 8) ^ 0xff}.${(g[6]! & 0xff) ^ 0xff}.0.0`
  // NAT64 (64:ff9b::/96): the embedded IPv4's /16.
  if (g[0] === 0x64 && g[1] === 0xff9b) return `${g[6]! >> 8}.${g[6]! & 0xff}.0.0`
  // he.net tunnels get /36, everything else /32.
  if (g[0] === 0x2001 && g[1] === 0x0470) return `2001:470:${(g[2]! >> 12).toString(16)}::/36`
  return `${g[0]!.toString(16)}:${g[1]!.toString(16)}::/32`
}
