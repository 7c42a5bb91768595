/** node:path in a browser bundle: the three helpers p2p's file code names (never reached in a page). */
export function dirname (p: string): string {
  const i = p.lastIndexOf('/')
  return i <= 0 ? (i === 0 ? '/' : '.') : p.slice(0, i)
}

export function basename (p: string): string {
  return p.slice(p.lastIndexOf('/') + 1)
}

export function join (...parts: string[]): string {
  return parts.filter(x => x !== '').join('/').replace(/\/+/g, '/')
}

export default { dirname, basename, join }
