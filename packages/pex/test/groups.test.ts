import { describe, expect, it } from 'vitest'
import { NetAddress } from '@switchyard/p2p'
import { groupKey } from '@switchyard/pex'

const a = (ip: string): NetAddress => new NetAddress('ab'.repeat(20), ip, 26656)

describe('network groups', () => {
  it('IPv4 by /16, IPv6 by /32, tunnels by their embedded IPv4, he.net by /36', () => {
    expect(groupKey(a('1.2.3.4'), true)).toBe('1.2.0.0')
    expect(groupKey(a('1.2.200.9'), true)).toBe(groupKey(a('1.2.3.4'), true))
    expect(groupKey(a('2606:4700:10::1'), true)).toBe('2606:4700::/32')
    expect(groupKey(a('2002:0102:0304::1'), true)).toBe('1.2.0.0')
    expect(groupKey(a('2001:0:0:0:0:0:fefd:fcfb'), true)).toBe('1.2.0.0')
    expect(groupKey(a('64:ff9b::0102:0304'), true)).toBe('1.2.0.0')
    expect(groupKey(a('2001:470:1234::1'), true)).toBe('2001:470:1::/36')
  })

  it('in strict mode, local and non-routable addresses have groups of their own', () => {
    expect(groupKey(a('127.0.0.1'), true)).toBe('local')
    expect(groupKey(a('10.1.2.3'), true)).toBe('unroutable')
    expect(groupKey(a('10.1.2.3'), false)).toBe('10.1.0.0')
  })
})
