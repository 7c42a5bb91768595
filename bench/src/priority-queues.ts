/**
 * Where the bytes wait while a low-priority channel saturates an encrypted link: the measurement
 * behind the choice of delay-based pacing (docs/architecture.md, "Send pacing").
 *
 *   node bench/dist/priority-queues.js [--seconds 3] [--cometbft]
 *
 * For pacing off and on, samples every ~250 ms: what Node holds (the SecretConnection's and the
 * socket's writableLength: all a pacer reading "unsent bytes" from Node could see), the sender's
 * kernel Send-Q (what SIOCOUTQ would report; TCP_NOTSENT_LOWAT bounds only its unsent part) and the
 * receiver's kernel Recv-Q (invisible to the sender), from `ss -tn`. The receiver is a child
 * process (priority-receiver.ts), or with --cometbft the Go cometbft-peer; both verify what they get.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { LOW, bulkMessage, quantile } from './priority-messages.js'
import { cometbftReceiver, connect, nodeReceiver, type Receiver } from './priority.js'

const args = process.argv.slice(2)
const seconds = Number(args[args.indexOf('--seconds') + 1] ?? 3) || 3
const receiver = (args.includes('--cometbft') ? 'cometbft' : 'encrypted') as Receiver

/**
 * Send-Q of our socket and Recv-Q of the receiver's, in bytes, from ss. Asynchronous: a synchronous
 * call would stop the sender for the ~35 ms ss takes here, and the receiver would drain the queues.
 */
async function kernelQueues (localPort: number, remotePort: number): Promise<{ sendQ: number, recvQ: number }> {
  const { stdout: out } = await promisify(execFile)('ss', ['-tnH', 'state', 'established'], { encoding: 'utf8' })
  let sendQ = NaN
  let recvQ = NaN
  for (const line of out.split('\n')) {
    const [rq, sq, local, peer] = line.trim().split(/\s+/)
    if (local === `127.0.0.1:${localPort}` && peer === `127.0.0.1:${remotePort}`) sendQ = Number(sq)
    if (local === `127.0.0.1:${remotePort}` && peer === `127.0.0.1:${localPort}`) recvQ = Number(rq)
  }
  return { sendQ, recvQ }
}

async function measure (pacing: boolean): Promise<Record<string, number | string>> {
  const remote = receiver === 'cometbft' ? await cometbftReceiver() : await nodeReceiver('encrypted')
  const port = remote.port
  const { m, socket, stream: secret } = await connect(remote, receiver, pacing)
  let running = true
  let sent = 0
  const bulk = (async () => {
    for (; running; sent++) {
      const msg = bulkMessage(sent)
      if (!m.trySend(LOW, msg) && !await m.send(LOW, msg, { timeout: 60_000 })) break
    }
  })()
  await new Promise(resolve => setTimeout(resolve, 500))
  const node: number[] = []
  const sendQ: number[] = []
  const recvQ: number[] = []
  const t0 = performance.now()
  const bytes0 = m.status().bytesSent
  while (performance.now() - t0 < seconds * 1000) {
    node.push(secret.writableLength + socket.writableLength)
    const k = await kernelQueues(socket.localPort!, port)
    sendQ.push(k.sendQ)
    recvQ.push(k.recvQ)
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  const mbs = (m.status().bytesSent - bytes0) / (performance.now() - t0) / 1000
  running = false
  await bulk
  const rep = await remote.report(m, 0)
  m.close()
  await remote.stop()
  const med = (xs: number[]): number => quantile(xs, 0.5)
  const kb = (x: number): number => Math.round(x / 1024)
  const queued = med(sendQ) + med(recvQ) + med(node)
  return {
    receiver,
    pacing: pacing ? 1 : 0,
    sentMBs: Math.round(mbs),
    nodeBufferedKiB: kb(med(node)),
    sendQKiB: kb(med(sendQ)),
    recvQKiB: kb(med(recvQ)),
    queuedMs: Math.round(queued / (mbs * 1000) * 10) / 10,
    recvQAloneMs: Math.round(med(recvQ) / (mbs * 1000) * 10) / 10,
    receiverErrors: rep.errors.length
  }
}

for (const pacing of [false, true]) console.log(JSON.stringify({ bench: 'where bytes wait (encrypted, saturated)', ...await measure(pacing) }))
process.exit(0)
