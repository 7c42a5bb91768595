import { describe, expect, it } from 'vitest'
import { NetAddress, ipClass, resolveNetAddress } from '@switchyard/p2p'

const ID = '0ec237d5ed7f36eba9a43ad23957ada43db720d1'

describe('NetAddress', () => {
  it('parses and formats id@host:port, with a scheme, and IPv6 in brackets', () => {
    expect(NetAddress.parse(`${ID}@127.0.0.1:26656`).toString()).toBe(`${ID}@127.0.0.1:26656`)
    expect(NetAddress.parse(`tcp://${ID}@10.0.0.2:1`)).toMatchObject({ id: ID, ip: '10.0.0.2', port: 1 })
    expect(NetAddress.parse(`${ID}@[::1]:26656`).toString()).toBe(`${ID}@[::1]:26656`)
    expect(NetAddress.parse('1.2.3.4:5', { requireId: false }).toString()).toBe('1.2.3.4:5')
    expect(NetAddress.parse(`${ID}@[::ffff:1.2.3.4]:5`).ip).toBe('1.2.3.4')
  })

  it('refuses malformed addresses with ERR_INVALID_ADDRESS', () => {
    for (const bad of ['127.0.0.1:26656', `${ID}@127.0.0.1`, `${ID}@127.0.0.1:70000`, 'abc@127.0.0.1:1', `${ID}@:1`, `${ID}@host.example:1`, `a@b@c:1`]) {
      expect(() => NetAddress.parse(bad), bad).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ADDRESS' }))
    }
  })

  it('resolves DNS names (localhost) and reports failures', async () => {
    expect((await resolveNetAddress(`${ID}@localhost:26656`)).isLocal()).toBe(true)
    await expect(resolveNetAddress(`${ID}@no-such-host.invalid:1`)).rejects.toMatchObject({ code: 'ERR_INVALID_ADDRESS' })
  })

  it('classes IPs by routability, IPv4 and IPv6', () => {
    const cases: Record<string, string> = {
      '8.8.8.8': 'public', '10.1.2.3': 'private', '172.16.0.1': 'private', '172.32.0.1': 'public', '192.168.1.1': 'private',
      '169.254.1.1': 'link-local', '127.0.0.5': 'loopback', '0.0.0.0': 'unspecified', '0.1.2.3': 'zero-net',
      '255.255.255.255': 'broadcast', '::1': 'loopback', '::': 'unspecified', 'fe80::1': 'link-local',
      'fd00::1': 'unique-local', 'fc12::1': 'unique-local', '2001:db8::1': 'documentation', '2001:10::1': 'orchid',
      '2606:4700::1111': 'public', '::ffff:10.0.0.1': 'private', 'nonsense': 'invalid'
    }
    for (const [ip, cls] of Object.entries(cases)) expect(ipClass(ip), ip).toBe(cls)
  })

  it('applies CometBFT\'s Valid, Routable, Local and Same rules', () => {
    const a = (s: string): NetAddress => NetAddress.parse(s)
    expect(a(`${ID}@8.8.8.8:1`).isRoutable()).toBe(true)
    expect(a(`${ID}@10.0.0.1:1`).isRoutable()).toBe(false)
    expect(a(`${ID}@10.0.0.1:1`).isValid()).toBe(true)
    expect(a(`${ID}@0.0.0.0:1`).isValid()).toBe(false)
    expect(a(`${ID}@[2001:db8::1]:1`).isValid()).toBe(false)
    expect(a(`${ID}@127.0.0.1:1`).isLocal()).toBe(true)
    expect(a(`${ID}@1.2.3.4:5`).same(a(`${'f'.repeat(40)}@1.2.3.4:5`))).toBe(true)
    expect(a(`${ID}@1.2.3.4:5`).same(a(`${ID}@5.6.7.8:9`))).toBe(true)
    expect(a(`${ID}@1.2.3.4:5`).same(a(`${'f'.repeat(40)}@1.2.3.4:6`))).toBe(false)
  })
})
