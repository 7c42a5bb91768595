/**
 * The receiving end of the WebSocket-vs-TCP benchmark, in its own process: one Switch listening
 * on TCP and WebSocket, checking every byte of every DATA message and echoing ECHO messages.
 */
import { NodeKey, Reactor, Switch, type Envelope } from '@switchyard/p2p'
import { webSocketTransport } from '@switchyard/transport-ws'
import { DATA, ECHO, checkMessage, type FromReceiver, type ToReceiver } from './transport-bench-wire.js'

const send = (m: FromReceiver): void => { process.send!(m) }

class Sink extends Reactor {
  readonly channels = [DATA, ECHO]
  private expected = { count: 0, size: 0 }
  private seq = 0
  private bytes = 0
  private failed = false
  private firstAt = 0

  arm (count: number, size: number): void {
    this.expected = { count, size }
    this.seq = 0
    this.bytes = 0
    this.failed = false
  }

  override receive (env: Envelope<Uint8Array>): void {
    if (env.channel.id === ECHO.id) { env.peer.trySend(ECHO, env.message); return }
    if (this.failed) return
    const problem = checkMessage(env.message, this.seq, this.expected.size)
    if (problem !== null) { this.failed = true; send({ type: 'failed', reason: problem }); return }
    if (this.seq === 0) this.firstAt = performance.now()
    this.seq++
    this.bytes += env.message.length
    if (this.seq === this.expected.count) send({ type: 'done', count: this.seq, bytes: this.bytes, ms: performance.now() - this.firstAt })
  }
}

const sink = new Sink()
const sw = new Switch({ nodeKey: NodeKey.generate(), network: 'bench-transports', listenAddress: 'tcp://127.0.0.1:0', allowDuplicateIp: true })
sw.addReactor('sink', sink)
const ws = webSocketTransport(sw, { listen: 'ws://127.0.0.1:0' })
await sw.start()
const wsAddress = await ws.listen()
process.on('message', (m: ToReceiver) => {
  if (m.type === 'expect') { sink.arm(m.count, m.size); send({ type: 'armed' }) }
  if (m.type === 'stop') void sw.stop().then(() => process.exit(0))
})
send({ type: 'ready', tcp: sw.address, ws: wsAddress! })
