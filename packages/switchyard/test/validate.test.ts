import { describe, expect, it } from 'vitest'
import { NodeKey } from '@switchyard/p2p'
import { addressProblem, defaultConfig, parseLogLevel, validateConfig } from '@switchyard/cli'

const id = NodeKey.generate().id

describe('config validation', () => {
  it('accepts the address forms CometBFT accepts and names what is wrong with the rest', () => {
    for (const ok of [`${id}@1.2.3.4:26656`, `tcp://${id}@1.2.3.4:26656`, `${id}@[::1]:26656`, `${id}@seed.example.com:26656`, `${id.toUpperCase()}@10.0.0.1:1`]) {
      expect(addressProblem(ok, true), ok).toBeUndefined()
    }
    expect(addressProblem('1.2.3.4:26656', true)).toBe('the node ID is missing')
    expect(addressProblem('1.2.3.4:26656', false)).toBeUndefined()
    expect(addressProblem(`${id}@1.2.3.4`, true)).toBe('missing port in address "1.2.3.4"')
    expect(addressProblem(`${id}@1.2.3.4:70000`, true)).toBe('invalid port "70000"')
    expect(addressProblem(`${id}@bad_host!:1`, true)).toBe('host "bad_host!" is neither an IP address nor a DNS name')
    expect(addressProblem(`a@b@1.2.3.4:1`, true)).toBe('more than one "@"')
  })

  it('reads log levels, including CometBFT\'s per-module form', () => {
    expect(['debug', 'info', 'warn', 'error'].map(l => parseLogLevel('x', l))).toEqual(['debug', 'info', 'warn', 'error'])
    expect(parseLogLevel('x', 'p2p:debug,*:error')).toBe('error')
    expect(parseLogLevel('x', 'consensus:debug,p2p:info')).toBe('info')
    expect(() => parseLogLevel('config.toml: log_level', 'chatty')).toThrow('config.toml: log_level: expected debug, info, warn or error')
    expect(() => parseLogLevel('x', 5)).toThrow(/got 5/)
  })

  it('the defaults pass; each limit is enforced at its edge', () => {
    const ok = defaultConfig('/tmp/x')
    expect(() => validateConfig(ok)).not.toThrow()
    const edge = (patch: (c: ReturnType<typeof defaultConfig>) => void): () => void => () => { const c = defaultConfig('/tmp/x'); patch(c); validateConfig(c) }
    expect(edge(c => { c.p2p.handshakeTimeout = 3_600_000 })).not.toThrow()
    expect(edge(c => { c.p2p.handshakeTimeout = 3_600_001 })).toThrow('p2p.handshake_timeout')
    expect(edge(c => { c.p2p.flushThrottleTimeout = 0 })).not.toThrow()
    expect(edge(c => { c.p2p.flushThrottleTimeout = 10_001 })).toThrow('p2p.flush_throttle_timeout')
    expect(edge(c => { c.p2p.maxPacketMsgPayloadSize = 1 })).not.toThrow()
    expect(edge(c => { c.p2p.sendRate = 0 })).not.toThrow()
    expect(edge(c => { c.p2p.recvRate = 1023 })).toThrow('p2p.recv_rate')
    expect(edge(c => { c.p2p.maxPendingHandshakesPerIp = 0 })).toThrow('p2p.max_pending_handshakes_per_ip')
    expect(edge(c => { c.p2p.seedRequestTimeout = 0 })).toThrow('p2p.seed_request_timeout')
    expect(edge(c => { c.p2p.addrBookMaxBans = 0 })).toThrow('p2p.addr_book_max_bans')
    expect(edge(c => { c.p2p.addrBookMaxBans = 1 })).not.toThrow()
    expect(edge(c => { c.instrumentation.namespace = 'my-chain' })).toThrow('[instrumentation] namespace "my-chain"')
    expect(edge(c => { c.p2p.externalAddress = 'nohost' })).toThrow('p2p.external_address "nohost": missing port')
    expect(edge(c => { c.chainId = 'x'.repeat(51) })).toThrow('chain ID: a chain ID is 1 to 50')
  })
})
