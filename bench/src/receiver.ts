/**
 * The receiving end of a process-pair benchmark, run as a child process (its own process, so
 * sealing and opening do not share a JavaScript thread). Listens for one connection of the given
 * kind, then either sinks and verifies `total` bytes, or echoes everything back (RTT).
 * Protocol over IPC: parent sends a Job; child answers {addr}, then a ReceiverDone.
 */
import { listen, type Kind } from './links.js'
import { Verifier } from './pattern.js'

/**
 * `warmup` bytes (a whole number of messages) come first and are verified like the rest; the child
 * then answers {warm: true} and counts CPU time and `total` from there (steady state, JIT warm).
 */
export interface ReceiverJob { kind: Kind, mode: 'sink' | 'echo', size: number, total: number, seed: number, warmup: number }
/** cpuMs = userMs + systemMs: this process's CPU time from the first byte to the last. */
export interface ReceiverDone { received: number, mismatches: number, cpuMs: number, userMs: number, systemMs: number }

async function serve (job: ReceiverJob): Promise<void> {
  const l = await listen(job.kind)
  process.send!({ addr: l.addr })
  const side = await l.accepted
  await l.close()
  if (job.mode === 'echo') {
    side.onReceive(d => { side.send(d) })
    return
  }
  const v = new Verifier(job.seed)
  let cpu0 = process.cpuUsage()
  let warm = job.warmup === 0
  const end = job.warmup + job.total
  if (warm) process.send!({ warm: true })
  side.onReceive(d => {
    v.check(d)
    if (!warm && v.received >= job.warmup) {
      warm = true
      cpu0 = process.cpuUsage()
      process.send!({ warm: true })
    }
    if (v.received >= end) {
      const cpu = process.cpuUsage(cpu0)
      process.send!({ received: v.received - job.warmup, mismatches: v.mismatches, cpuMs: (cpu.user + cpu.system) / 1000, userMs: cpu.user / 1000, systemMs: cpu.system / 1000 } satisfies ReceiverDone)
    }
  })
}

process.once('message', (job: ReceiverJob) => {
  serve(job).catch(err => { console.error(err); process.exit(1) })
})
process.on('disconnect', () => process.exit(0))
// An orderly exit on the parent's kill(), so `node --cpu-prof` writes this process's profile too.
process.on('SIGTERM', () => process.exit(0))
