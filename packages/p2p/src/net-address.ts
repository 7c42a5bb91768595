/**
 * Peer addresses: `id@host:port` (optionally with a `tcp://` scheme), their validity and their
 * routability class, as CometBFT defines them (docs/protocol.md). Shared by the Switch and the
 * address book.
 */
import net from 'node:net'
import dns from 'node:dns/promises'
import { SwitchyardError } from '@switchyard/wire'
import { isHostname, joinHostPort, splitHostPort, stripScheme } from './host-port.js'
import { isValidNodeId } from './node-key.js'

/** An address string that cannot be parsed, or resolved. */
export class InvalidAddressError extends SwitchyardError {
  readonly address: string
  constructor (address: string, problem: string) {
    super('ERR_INVALID_ADDRESS', `invalid address ${JSON.stringify(address)}: ${problem}`)
    this.address = address
  }
}

export class NetAddress {
  /** Node ID (40 hex characters), or '' when the address has none. */
  readonly id: string
  readonly ip: string
  readonly port: number

  constructor (id: string, ip: string, port: number) {
    this.id = id
    this.ip = ip
    this.port = port
  }

  /** `id@ip:port`, or `ip:port` without an ID (IPv6 in brackets). */
  toString (): string {
    const hp = joinHostPort(this.ip, this.port)
    return this.id !== '' ? `${this.id}@${hp}` : hp
  }

  get dialString (): string {
    return joinHostPort(this.ip, this.port)
  }

  /** Same as CometBFT's Same(): identical ip:port, or the same non-empty ID. */
  same (other: NetAddress): boolean {
    return this.dialString === other.dialString || (this.id !== '' && this.id === other.id)
  }

  equals (other: NetAddress): boolean {
    return this.toString() === other.toString()
  }

  /** Valid(): a valid ID, an IP that is not unspecified, not 255.255.255.255, not 2001:db8::/32. */
  isValid (): boolean {
    if (!isValidNodeId(this.id)) return false
    const cls = ipClass(this.ip)
    return cls !== 'unspecified' && cls !== 'broadcast' && cls !== 'documentation' && cls !== 'invalid'
  }

  /** Routable(): valid and not private, link-local, loopback or otherwise local. */
  isRoutable (): boolean {
    return this.isValid() && ipClass(this.ip) === 'public'
  }

  /** Loopback or 0.0.0.0/8. */
  isLocal (): boolean {
    const c = ipClass(this.ip)
    return c === 'loopback' || c === 'unspecified' || c === 'zero-net'
  }

  withId (id: string): NetAddress {
    return new NetAddress(id, this.ip, this.port)
  }

  /**
   * Parses `id@host:port`, `tcp://id@host:port`, or (with `requireId: false`) `host:port`. The
   * host must be an IP address; use resolveNetAddress for DNS names.
   */
  static parse (s: string, options: { requireId?: boolean } = {}): NetAddress {
    const { id, host, port } = splitAddress(s, options.requireId ?? true)
    if (net.isIP(host) === 0) throw new InvalidAddressError(s, `host ${JSON.stringify(host)} is not an IP address (use resolveNetAddress for DNS names)`)
    return new NetAddress(id, normaliseIp(host), port)
  }
}

function splitAddress (s: string, requireId: boolean): { id: string, host: string, port: number } {
  const rest = stripScheme(s.trim())
  const parts = rest.split('@')
  let id = ''
  let hostPort = rest
  if (parts.length === 2) {
    id = parts[0]!
    hostPort = parts[1]!
    if (!isValidNodeId(id)) throw new InvalidAddressError(s, `node ID ${JSON.stringify(id)} is not 40 hex characters`)
  } else if (parts.length > 2 || requireId) {
    throw new InvalidAddressError(s, 'expected id@host:port')
  }
  const hp = splitHostPort(hostPort)
  if (typeof hp === 'string') throw new InvalidAddressError(s, hp)
  if (hp.host === '') throw new InvalidAddressError(s, 'empty host')
  return { id, host: hp.host, port: hp.port }
}

/**
 * Like NetAddress.parse, but a DNS host name is resolved (first address), as CometBFT does.
 * `resolve` replaces dns.lookup; `signal` abandons a lookup that does not answer.
 */
export async function resolveNetAddress (s: string, options: { requireId?: boolean, signal?: AbortSignal, resolve?: (host: string, signal: AbortSignal) => Promise<unknown> } = {}): Promise<NetAddress> {
  const { id, host, port } = splitAddress(s, options.requireId ?? true)
  if (net.isIP(host) !== 0) return new NetAddress(id, normaliseIp(host), port)
  if (!isHostname(host)) throw new InvalidAddressError(s, `host ${JSON.stringify(host)} is neither an IP address nor a DNS name`)
  try {
    const signal = options.signal ?? new AbortController().signal
    if (signal.aborted) throw signal.reason
    let onAbort: (() => void) | undefined
    const aborted = new Promise<never>((_resolve, reject) => { onAbort = () => reject(signal.reason); signal.addEventListener('abort', onAbort, { once: true }) })
    let found: unknown
    try {
      found = await Promise.race([options.resolve !== undefined ? options.resolve(host, signal) : dns.lookup(host), aborted])
    } finally {
      signal.removeEventListener('abort', onAbort!)
    }
    const address = typeof found === 'string' ? found : (found as { address?: unknown } | null)?.address
    if (typeof address !== 'string' || net.isIP(address) === 0) throw new Error(`the resolver gave no IP address (${JSON.stringify(found)})`)
    return new NetAddress(id, normaliseIp(address), port)
  } catch (err) {
    if (options.signal?.aborted === true) throw options.signal.reason
    throw new InvalidAddressError(s, `cannot resolve ${JSON.stringify(host)} (${(err as Error).message})`)
  }
}

/** IPv4-mapped IPv6 (::ffff:a.b.c.d) is written as IPv4, as Go's IP.String() does. */
export function normaliseIp (ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  return m !== null ? m[1]! : ip.toLowerCase()
}

export type IpClass =
  | 'invalid' | 'unspecified' | 'zero-net' | 'broadcast' | 'documentation' | 'loopback' | 'private' | 'link-local'
  | 'unique-local' | 'orchid' | 'public'

function v4 (ip: string): number[] | undefined {
  if (!net.isIPv4(ip)) return undefined
  return ip.split('.').map(Number)
}

/** Expands an IPv6 address (any notation, including a dotted IPv4 tail) into its 8 16-bit groups. */
export function expandIPv6 (ip: string): number[] | undefined {
  if (!net.isIPv6(ip)) return undefined
  let s = ip
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(s)
  if (tail !== null) {
    const b = tail[1]!.split('.').map(Number)
    s = s.slice(0, -tail[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`
  }
  const [head, rest] = s.split('::') as [string, string | undefined]
  const h = head === '' ? [] : head.split(':')
  const r = rest === undefined || rest === '' ? [] : rest.split(':')
  const groups = rest === undefined ? h : [...h, ...Array(8 - h.length - r.length).fill('0'), ...r]
  return groups.map(g => parseInt(g, 16))
}

/**
 * The routability class of an IP, from the ranges CometBFT (after Bitcoin) uses: RFC 1918 and
 * RFC 4193 private, RFC 3927 and RFC 4862 link-local, loopback and 0.0.0.0/8, RFC 3849
 * documentation, RFC 4843 ORCHID. IPv4-mapped IPv6 is classed as its IPv4 address.
 */
export function ipClass (ip: string): IpClass {
  const a = v4(normaliseIp(ip))
  if (a !== undefined) {
    const [x, y] = a as [number, number, number, number]
    if (a.every(o => o === 255)) return 'broadcast'
    if (x === 0) return a.every(o => o === 0) ? 'unspecified' : 'zero-net'
    if (x === 127) return 'loopback'
    if (x === 10 || (x === 172 && y >= 16 && y <= 31) || (x === 192 && y === 168)) return 'private'
    if (x === 169 && y === 254) return 'link-local'
    return 'public'
  }
  const g = expandIPv6(ip)
  if (g === undefined) return 'invalid'
  if (g.every(x => x === 0)) return 'unspecified'
  if (g.slice(0, 7).every(x => x === 0) && g[7] === 1) return 'loopback'
  if (g[0] === 0x2001 && g[1] === 0x0db8) return 'documentation'
  if (g[0] === 0xfe80 && g[1] === 0 && g[2] === 0 && g[3] === 0) return 'link-local'
  if ((g[0]! & 0xfe00) === 0xfc00) return 'unique-local'
  if (g[0] === 0x2001 && (g[1]! & 0xfff0) === 0x0010) return 'orchid'
  return 'public'
}

export function isRoutableIp (ip: string): boolean {
  return ipClass(ip) === 'public'
}
