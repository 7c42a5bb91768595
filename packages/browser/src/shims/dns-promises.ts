/**
 * node:dns/promises in a browser bundle. A page cannot resolve names (the browser does so itself
 * when it opens a WebSocket), so a name is passed through unchecked and an IP literal as itself.
 */
import { isIP } from './net.js'

export async function lookup (host: string): Promise<{ address: string, family: number }> {
  return { address: host, family: isIP(host) }
}

export default { lookup }
