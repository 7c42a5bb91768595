/**
 * The seed's HTTP endpoint: /metrics (Prometheus text), /health (200 when serving, 503 while
 * starting or stopping) and /net_info (peers' IPs and IDs: served only when configured, by default
 * only on a loopback listener, as CometBFT keeps its RPC on 127.0.0.1).
 *
 * Slow or idle clients cannot hold the connection slots: headers must arrive within 5 s, a request
 * within 10 s, and an idle keep-alive socket is closed after 5 s.
 */
import http from 'node:http'
import net from 'node:net'
import type { SeedMetrics } from './metrics.js'

export interface EndpointOptions {
  metrics: SeedMetrics
  state: () => 'starting' | 'running' | 'stopping'
  /** Returns the /net_info document; undefined = /net_info is off (404). */
  netInfo?: () => unknown
  /** Connections at once (default 32). */
  maxConnections?: number
  /** Milliseconds a client has to send its headers (default 5000). */
  headersTimeout?: number
}

export function isLoopbackHost (host: string): boolean {
  if (host === 'localhost') return true
  const v = net.isIP(host)
  if (v === 4) return host.startsWith('127.')
  if (v === 6) return host === '::1' || host.startsWith('::ffff:127.')
  return false
}

/** Whether /net_info is served for `[instrumentation] net_info` and the listen host. */
export function netInfoServed (mode: 'auto' | 'on' | 'off', host: string): boolean {
  return mode === 'on' || (mode === 'auto' && isLoopbackHost(host))
}

/** Starts the endpoint; resolves once listening (rejects with the listen error, e.g. EADDRINUSE). */
export async function serveEndpoint (host: string, port: number, o: EndpointOptions): Promise<http.Server> {
  const headersTimeout = o.headersTimeout ?? 5000
  const server = http.createServer({
    headersTimeout,
    requestTimeout: Math.max(headersTimeout, 10_000),
    keepAliveTimeout: 5000,
    // How often Node checks the two timeouts above (its default, 30 s, would let idle sockets linger).
    connectionsCheckingInterval: Math.min(1000, headersTimeout)
  }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (path === '/metrics') {
      o.metrics.render().then(text => {
        res.writeHead(200, { 'content-type': o.metrics.contentType })
        res.end(text)
      }, (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' })
        res.end(`metrics failed: ${(err as Error).message}\n`)
      })
    } else if (path === '/health') {
      const state = o.state()
      res.writeHead(state === 'running' ? 200 : 503, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ status: state }) + '\n')
    } else if (path === '/net_info' && o.netInfo !== undefined) {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(o.netInfo(), null, 2) + '\n')
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' })
      res.end(`not found: try /metrics or /health${o.netInfo !== undefined ? ' or /net_info' : ''}\n`)
    }
  })
  server.maxConnections = o.maxConnections ?? 32
  // A connected socket that never sends a byte is not covered by headersTimeout on every Node
  // line: close any socket idle this long.
  server.setTimeout(Math.max(headersTimeout, 5000), socket => { socket.destroy() })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  return server
}
