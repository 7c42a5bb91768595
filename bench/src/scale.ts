/**
 * Scale: one process (this one) holding 1,000 connected peers, each an idle CometBFT-style
 * connection (SecretConnection + MConnection); the clients live in child processes so that only
 * the hub's memory is measured. Reports RSS per idle peer and event-loop lag.
 *
 *   node --expose-gc bench/dist/scale.js [--peers 1000]
 */
import { fork } from 'node:child_process'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { NodeKey, Reactor, Switch, channel } from '@switchyard/p2p'

const args = process.argv.slice(2)
const PEERS = Number(args[args.indexOf('--peers') + 1] ?? 1000) || 1000
const PER_CHILD = 250
const Idle = channel({ id: 0x70, priority: 1 })
class IdleReactor extends Reactor { readonly channels = [Idle] }
const gc = (globalThis as { gc?: () => void }).gc

const hub = new Switch({ nodeKey: NodeKey.generate(), network: 'scale', listenAddress: 'tcp://127.2.0.1:0', maxInboundPeers: PEERS + 100, allowDuplicateIp: true, maxPendingHandshakes: 512, handshakeTimeout: 30_000 })
hub.addReactor('idle', new IdleReactor())
await hub.start()
gc?.()
const rss0 = process.memoryUsage().rss
const t0 = performance.now()
const children = Array.from({ length: Math.ceil(PEERS / PER_CHILD) }, (_, i) =>
  fork(fileURLToPath(new URL('./scale-clients.js', import.meta.url)), [hub.address, String(Math.min(PER_CHILD, PEERS - i * PER_CHILD)), String(10 + i)], { stdio: 'inherit' }))
await Promise.all(children.map(async c => await new Promise(resolve => c.once('message', resolve))))
const connectSeconds = (performance.now() - t0) / 1000
const lag = monitorEventLoopDelay({ resolution: 10 })
lag.enable()
await new Promise(resolve => setTimeout(resolve, 10_000)) // idle, as the measure says
lag.disable()
gc?.()
const rss1 = process.memoryUsage().rss
const report = {
  peers: hub.peers.size,
  connectSeconds: Number(connectSeconds.toFixed(1)),
  rssBeforeMB: Math.round(rss0 / 1e6),
  rssAfterMB: Math.round(rss1 / 1e6),
  rssPerPeerKiB: Math.round((rss1 - rss0) / hub.peers.size / 1024),
  heapUsedMB: Math.round(process.memoryUsage().heapUsed / 1e6),
  eventLoopLagMs: { p50: Number((lag.percentile(50) / 1e6).toFixed(1)), p99: Number((lag.percentile(99) / 1e6).toFixed(1)), max: Number((lag.max / 1e6).toFixed(1)) }
}
console.log(JSON.stringify(report, null, 2))
for (const c of children) c.send('stop')
await hub.stop({ timeout: 500 })
process.exit(0)
