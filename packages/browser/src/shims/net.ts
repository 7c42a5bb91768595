/**
 * node:net in a browser bundle: the address checks p2p uses (isIP, isIPv4, isIPv6), written out;
 * TCP itself (createServer, connect) does not exist in a page and throws.
 */
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/

export function isIPv4 (s: string): boolean {
  return IPV4.test(s)
}

export function isIPv6 (s: string): boolean {
  const zone = s.indexOf('%')
  const addr = zone >= 0 ? s.slice(0, zone) : s
  if (addr.length < 2 || !/^[0-9a-fA-F:.]+$/.test(addr)) return false
  let groups = addr.split(':')
  const last = groups[groups.length - 1]!
  let need = 8
  if (last.includes('.')) {
    if (!isIPv4(last)) return false
    groups = groups.slice(0, -1)
    need = 6
  }
  const dbl = addr.indexOf('::')
  if (dbl !== addr.lastIndexOf('::')) return false
  const parts = dbl >= 0 ? groups.filter((g, i) => !(g === '' && (i === 0 || i === groups.length - 1 || groups[i - 1] === '' || groups[i + 1] === ''))) : groups
  if (parts.some(g => !/^[0-9a-fA-F]{1,4}$/.test(g) && !(g === '' && dbl >= 0))) return false
  const filled = parts.filter(g => g !== '').length
  return dbl >= 0 ? filled < need : filled === need
}

export function isIP (s: string): 0 | 4 | 6 {
  return isIPv4(s) ? 4 : isIPv6(s) ? 6 : 0
}

function noTcp (): never {
  throw new Error('TCP is not available in a browser; dial ws:// or wss:// addresses')
}

export const createServer = noTcp
export const connect = noTcp
/** Never constructed in a page; exists so `x instanceof net.Socket` is false rather than a throw. */
export class Socket {}
export default { isIP, isIPv4, isIPv6, createServer, connect, Socket }
