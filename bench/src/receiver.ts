/**
 * The receiving end of a process-pair benchmark, run as a child process (its own process, so
 * sealing and opening do not share a JavaScript thread). Listens for one connection of the given
 * kind, then either sinks and verifies `total` bytes, or echoes everything back (RTT).
 * Protocol over IPC: parent sends a Job; child answers {addr}, then {received, mismatches, cpuMs}.
 */
import { listen, type Kind } from './links.js'
import { Verifier, pattern, periodFor } from './pattern.js'

export interface ReceiverJob { kind: Kind, mode: 'sink' | 'echo', size: number, total: number, seed: number }
export interface ReceiverDone { received: number, mismatches: number, cpuMs: number }

async function serve (job: ReceiverJob): Promise<void> {
  const l = await listen(job.kind)
  process.send!({ addr: l.addr })
  const side = await l.accepted
  await l.close()
  if (job.mode === 'echo') {
    side.onReceive(d => { side.send(d) })
    return
  }
  const v = new Verifier(pattern(periodFor(job.size), job.seed))
  const cpu0 = process.cpuUsage()
  side.onReceive(d => {
    v.check(d)
    if (v.received >= job.total) {
      const cpu = process.cpuUsage(cpu0)
      process.send!({ received: v.received, mismatches: v.mismatches, cpuMs: (cpu.user + cpu.system) / 1000 } satisfies ReceiverDone)
    }
  })
}

process.once('message', (job: ReceiverJob) => {
  serve(job).catch(err => { console.error(err); process.exit(1) })
})
process.on('disconnect', () => process.exit(0))
