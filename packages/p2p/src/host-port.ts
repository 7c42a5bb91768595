/** Splitting "host:port" the way Go's net.SplitHostPort does (IPv6 hosts in brackets). */
import net from 'node:net'

export interface HostPort { host: string, port: number }

/** Returns the parts, or a string saying what is wrong. */
export function splitHostPort (s: string): HostPort | string {
  let host: string
  let portStr: string
  if (s.startsWith('[')) {
    const end = s.indexOf(']')
    if (end < 0) return `missing ']' in address ${JSON.stringify(s)}`
    host = s.slice(1, end)
    if (s[end + 1] !== ':') return `missing port in address ${JSON.stringify(s)}`
    portStr = s.slice(end + 2)
  } else {
    const colon = s.lastIndexOf(':')
    if (colon < 0) return `missing port in address ${JSON.stringify(s)}`
    host = s.slice(0, colon)
    if (host.includes(':')) return `too many colons in address ${JSON.stringify(s)}`
    portStr = s.slice(colon + 1)
  }
  if (!/^[0-9]{1,5}$/.test(portStr) || Number(portStr) > 65535) return `invalid port ${JSON.stringify(portStr)}`
  return { host, port: Number(portStr) }
}

export function joinHostPort (host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`
}

/** A DNS name as RFC 1123 allows it (labels of letters, digits and hyphens). */
export function isHostname (host: string): boolean {
  return host.length <= 253 && /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?$/.test(host)
}

/** Drops a leading "scheme://", as CometBFT does for listen addresses. */
export function stripScheme (s: string): string {
  const i = s.indexOf('://')
  return i >= 0 ? s.slice(i + 3) : s
}
