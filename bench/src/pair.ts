/**
 * Process-pair measures: the receiver (or echoer) runs in a child process (receiver.ts) and this
 * process dials and sends. Every bulk and message-rate run is verified byte for byte at the
 * receiver; a run that lost or changed a byte throws.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { dial, type Kind, type Side } from './links.js'
import { roundTrips, type Rtt } from './measures.js'
import { PatternSource } from './pattern.js'
import type { ReceiverDone, ReceiverJob } from './receiver.js'

export interface Throughput {
  mbPerSec: number, msgsPerSec: number, seconds: number, senderCpuMs: number, receiverCpuMs: number
  /** The CPU times split into user and kernel (system) time. */
  senderUserMs: number, senderSystemMs: number, receiverUserMs: number, receiverSystemMs: number
}

function timeout<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout
  return Promise.race([p, new Promise<T>((_r, reject) => { timer = setTimeout(() => reject(new Error(`${what} timed out`)), ms) })])
    .finally(() => clearTimeout(timer))
}

/** The child's IPC messages in arrival order. */
class Inbox {
  private readonly queue: unknown[] = []
  private wake: (() => void) | undefined
  constructor (child: ChildProcess) {
    child.on('message', m => { this.queue.push(m); this.wake?.() })
  }

  async next<T> (ms: number, what: string): Promise<T> {
    while (this.queue.length === 0) await timeout(new Promise<void>(resolve => { this.wake = resolve }), ms, what)
    return this.queue.shift() as T
  }
}

async function start (job: ReceiverJob): Promise<{ child: ChildProcess, side: Side, inbox: Inbox }> {
  const child = fork(new URL('./receiver.js', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const inbox = new Inbox(child)
  child.send(job)
  const ready = await inbox.next<{ addr: string }>(30_000, 'receiver start')
  const side = await dial(job.kind, ready.addr)
  return { child, side, inbox }
}

async function stop (child: ChildProcess, side: Side): Promise<void> {
  await side.close().catch(() => {})
  child.kill()
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit')
}

/**
 * Sends `warmup` then `total` bytes as `size`-byte messages over one connection; times the `total`
 * part only (from when the child has verified the warm-up until it has verified everything), so
 * JIT warm-up and connection setup are not in the figure. Every byte of both parts is verified.
 */
export async function pairSend (kind: Kind, size: number, total: number, warmup = 0, seed = 7): Promise<Throughput> {
  warmup = Math.ceil(warmup / size) * size
  const { child, side, inbox } = await start({ kind, mode: 'sink', size, total, seed, warmup })
  try {
    const source = new PatternSource(size, seed)
    for (let sent = 0; sent < warmup; sent += size) {
      if (!side.send(source.next())) await side.drained()
    }
    const what = `${kind} ${size}-byte run`
    await inbox.next<{ warm: true }>(300_000, `${what} warm-up`)
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    for (let sent = 0; sent < total; sent += size) {
      // Views of the pattern: each message's bytes are what the receiver expects at that offset.
      if (!side.send(source.next())) await side.drained()
    }
    const r = await inbox.next<ReceiverDone>(300_000, what)
    const seconds = (performance.now() - t0) / 1000
    const cpu = process.cpuUsage(cpu0)
    if (r.received !== total || r.mismatches !== 0) throw new Error(`${kind}: receiver got ${r.received} of ${total} bytes with ${r.mismatches} mismatching chunks`)
    return { mbPerSec: total / seconds / 1e6, msgsPerSec: total / size / seconds, seconds, senderCpuMs: (cpu.user + cpu.system) / 1000, receiverCpuMs: r.cpuMs,
      senderUserMs: cpu.user / 1000, senderSystemMs: cpu.system / 1000, receiverUserMs: r.userMs, receiverSystemMs: r.systemMs
    }
  } finally {
    await stop(child, side)
  }
}

/** Round trips of `size` bytes to an echoing child, one at a time. */
export async function pairRtt (kind: Kind, size: number, iterations: number): Promise<Rtt> {
  const { child, side } = await start({ kind, mode: 'echo', size, total: 0, seed: 1, warmup: 0 })
  try {
    return await roundTrips(side, size, iterations)
  } finally {
    await stop(child, side)
  }
}
