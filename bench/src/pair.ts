/**
 * Throughput with the receiver in a worker thread, so sender and receiver each have a core (the
 * machine has two). The worker listens, reports its address, counts bytes, and reports when it has
 * `total`; the main thread dials and sends.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { once } from 'node:events'
import { dial, listen, type Kind } from './links.js'
import type { Throughput } from './measures.js'

interface Job { kind: Kind, total: number }

export async function pairThroughput (kind: Kind, size: number, total: number): Promise<Throughput> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { kind, total } satisfies Job })
  try {
    const [ready] = await once(worker, 'message') as [{ addr: string }]
    const side = await dial(kind, ready.addr)
    const done = once(worker, 'message')
    const msg = new Uint8Array(size).fill(0xab)
    const t0 = performance.now()
    for (let sent = 0; sent < total; sent += size) {
      if (!side.send(msg)) await side.drained()
    }
    await done
    const seconds = (performance.now() - t0) / 1000
    await side.close()
    return { mbPerSec: total / seconds / 1e6, seconds }
  } finally {
    await worker.terminate()
  }
}

if (!isMainThread && parentPort !== null) {
  const { kind, total } = workerData as Job
  const port = parentPort
  const l = await listen(kind)
  port.postMessage({ addr: l.addr })
  const side = await l.accepted
  let received = 0
  side.onReceive(d => {
    received += d.length
    if (received >= total) { port.postMessage({ done: true }); received = -Infinity }
  })
}
