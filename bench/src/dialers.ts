/**
 * Handshake load from a worker thread: `count` dialer loops, each connecting and running the full
 * upgrade (SecretConnection + NodeInfo) against the listener until the deadline; posts the number
 * completed. Running them on the other core leaves the listener's core to the listener alone.
 */
import net from 'node:net'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { once } from 'node:events'
import { NodeKey, makeNodeInfo, upgradeToPeer } from '@switchyard/p2p'

interface Job { port: number, count: number, ms: number }

export async function dialFromWorker (port: number, count: number, ms: number): Promise<number> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { port, count, ms } satisfies Job })
  const [done] = await once(worker, 'message') as [number]
  await worker.terminate()
  return done
}

if (!isMainThread && parentPort !== null) {
  const { port, count, ms } = workerData as Job
  const deadline = performance.now() + ms
  let done = 0
  await Promise.all(Array.from({ length: count }, async () => {
    const key = NodeKey.generate()
    const info = makeNodeInfo({ nodeId: key.id, network: 'bench', listenAddr: 'tcp://127.0.0.1:1', moniker: 'd', channels: [0x60] })
    while (performance.now() < deadline) {
      const s = net.connect(port, '127.0.0.1')
      await once(s, 'connect')
      const p = await upgradeToPeer(s, { nodeKey: key, nodeInfo: info })
      p.conn.destroy()
      done++
    }
  }))
  parentPort.postMessage(done)
}
