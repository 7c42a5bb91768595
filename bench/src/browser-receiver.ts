/**
 * The receiving end of the browser benchmark, run as a child process: a Node Switch listening on
 * WebSocket that verifies every bulk byte against the seeded stream, reports, and echoes.
 * IPC: parent sends a BrowserBenchJob; child answers {join}, and stays up for one sender.
 */
import { NodeKey, Reactor, Switch, type Envelope, type Peer } from '@switchyard/p2p'
import { webSocketTransport } from '@switchyard/transport-ws'
import { BulkChannel, EchoChannel, ReportChannel, type BrowserBenchJob } from './browser-protocol.js'
import { Verifier } from './pattern.js'

class BenchReceiver extends Reactor {
  readonly channels = [BulkChannel, EchoChannel, ReportChannel]
  private readonly verifier: Verifier
  private cpu0: NodeJS.CpuUsage | undefined
  constructor (private readonly job: BrowserBenchJob) {
    super()
    this.verifier = new Verifier(job.seed)
  }

  override receive ({ peer, channel: ch, message }: Envelope<Uint8Array>): void {
    const channelId = ch.id
    if (channelId === EchoChannel.id) { peer.trySend(EchoChannel, message); return }
    if (channelId !== BulkChannel.id) return
    this.cpu0 ??= process.cpuUsage()
    this.verifier.check(message)
    if (this.verifier.received >= this.job.total) this.report(peer)
  }

  private report (peer: Peer): void {
    const cpu = process.cpuUsage(this.cpu0)
    const body = { received: this.verifier.received, mismatches: this.verifier.mismatches, cpuMs: (cpu.user + cpu.system) / 1000 }
    peer.trySend(ReportChannel, new TextEncoder().encode(JSON.stringify(body)))
  }
}

process.once('message', (job: BrowserBenchJob) => {
  void (async () => {
    const sw = new Switch({ nodeKey: NodeKey.generate(), network: 'switchyard-bench', dialJitter: 0, allowDuplicateIp: true, connection: { pacing: job.pacing } })
    sw.addReactor('bench', new BenchReceiver(job))
    const ws = webSocketTransport(sw, { listen: 'ws://127.0.0.1:0' })
    await sw.start()
    process.send!({ join: await ws.listen() })
    process.once('disconnect', () => { void sw.stop().then(() => process.exit(0)) })
  })()
})
