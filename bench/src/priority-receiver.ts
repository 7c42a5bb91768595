/**
 * Receiver of the priority-under-load benchmark, run as a child process (priority.ts forks it) so
 * that it has its own event loop and core. It listens on loopback, accepts connections one at a time
 * (plaintext MConnection or upgradeToPeer + MConnection), checks every message (Tally) and, when the
 * parent asks, waits until the urgent messages the parent sent have all arrived and reports.
 *
 * Parent → child: { mode: 'plain' | 'encrypted' } once, then { report: expectedUrgent } per connection.
 * Child → parent: { port } once, then { report: ReceiverReport } per request.
 */
import net from 'node:net'
import { MConnection } from '@switchyard/conn'
import { NodeKey, makeNodeInfo, upgradeToPeer } from '@switchyard/p2p'
import { Tally, channels, HIGH, LOW } from './priority-messages.js'

const send = (msg: unknown): void => { process.send!(msg) }
const key = NodeKey.generate()
let current: { tally: Tally, conn: MConnection } | undefined

process.once('message', (first: { mode: 'plain' | 'encrypted' }) => {
  const server = net.createServer(socket => {
    socket.setNoDelay(true)
    void accept(socket, first.mode, server).catch(err => { console.error('receiver:', err) })
  })
  server.listen(0, '127.0.0.1', () => { send({ port: (server.address() as net.AddressInfo).port }) })
  process.on('message', (m: { report?: number }) => {
    if (m.report !== undefined) void report(m.report)
  })
})

async function accept (socket: net.Socket, mode: 'plain' | 'encrypted', server: net.Server): Promise<void> {
  let stream: import('node:stream').Duplex = socket
  if (mode === 'encrypted') {
    const port = (server.address() as net.AddressInfo).port
    const info = makeNodeInfo({ nodeId: key.id, network: 'bench', listenAddr: `tcp://127.0.0.1:${port}`, moniker: 'receiver', channels: [HIGH, LOW] })
    stream = (await upgradeToPeer(socket, { nodeKey: key, nodeInfo: info })).conn
  }
  const tally = new Tally()
  const conn = new MConnection(stream, { channels })
  conn.on('message', (ch, data) => { tally.onMessage(ch, data) })
  conn.on('close', () => {})
  current?.conn.close()
  current = { tally, conn }
}

async function report (expected: number): Promise<void> {
  const deadline = Date.now() + 30_000
  while ((current === undefined || current.tally.report().highCount < expected) && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 5))
  }
  if (current === undefined) { send({ report: undefined }); return }
  const r = current.tally.report()
  if (r.highCount < expected) r.errors.push(`${expected - r.highCount} urgent messages never arrived`)
  current.conn.close()
  current = undefined
  send({ report: r })
}
